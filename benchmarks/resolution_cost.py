"""Cost of a ViT and of a Swin Transformer against image size: time per image, peak memory, attention size.

The ViT attends over all its tokens (cost quadratic in the image area); the Swin Transformer (patch
`--swin-patch-size`, two stages of `--depth // 2` blocks, or one, at widths `--dim` and `2 * --dim`) inside
`--window-size` windows (linear).

    python benchmarks/resolution_cost.py                      # jax, 32..512 px, patch 16, a small model
    python benchmarks/resolution_cost.py --backend torch --sizes 32,64,128,256

Each image size and family runs in its own process (so that the peak memory of one size is not hidden by another's)
and reports: the token count T = N + 1, the attention entries per layer and image (heads x T^2, which
grows with the square of the patch count), analytic forward FLOPs per image and the attention products'
share of them, measured milliseconds per image for prediction and for a training step (best of a few
calls), and the peak growth of the process's resident memory over its size after building the model
(that growth includes compiling the step; the compile part is about the same at every size).
Writes a table to stdout and `<out>.md` and a plot to `<out>.png`.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import BACKENDS, check_backend, load_average, peak_rss_bytes, run_child, seconds_to_last_step  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="jax", choices=BACKENDS)
    parser.add_argument("--sizes", default="32,64,128,192,256,384,512", help="comma-separated image sizes (px)")
    parser.add_argument("--patch-size", type=int, default=16)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--num-heads", type=int, default=2)
    parser.add_argument("--mlp-dim", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--families", default="vit,swin", help="comma-separated: vit, swin")
    parser.add_argument("--swin-patch-size", type=int, default=4)
    parser.add_argument("--window-size", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2, help="timed calls per size (the best is kept)")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "resolution_cost"), help="output path stem")
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)  # one size, in a child process
    parser.add_argument("--family", help=argparse.SUPPRESS)  # one family, in a child process
    return parser.parse_args(argv)


def main():
    args = parse_args()
    if args.size is not None:
        check_backend(args.backend)
        print("RESULT " + json.dumps(measure(args)), flush=True)
        return
    sizes = [int(size) for size in args.sizes.split(",") if size]
    bad = [size for size in sizes if size <= 0 or size % args.patch_size or size % (2 * args.swin_patch_size)]
    if bad or not sizes:
        raise SystemExit(f"--sizes must be positive multiples of --patch-size {args.patch_size} and of twice "
                         f"--swin-patch-size {args.swin_patch_size}; got {args.sizes!r}.")
    families = [family for family in args.families.split(",") if family]
    if not families or set(families) - {"vit", "swin"}:
        raise SystemExit(f"--families must name vit and/or swin; got {args.families!r}.")
    rows = []
    for family in families:
        for size in sizes:
            child = [*sys.argv, "--size", str(size), "--family", family]
            rows += [json.loads(line) for line in run_child(args.backend, child)]
            print(f"{family} {size} px done", flush=True)
    table = format_table(args, rows)
    print(table)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    from keras_vit.files import write_text

    write_text(args.out + ".md", table + "\n")
    plot(args, rows, args.out + ".png")
    print(f"wrote {args.out}.md and {args.out}.png")


def measure(args):
    import keras
    import numpy as np

    import keras_vit

    if args.family == "swin":
        depths = (max(args.depth // 2, 1),) * min(args.depth, 2)
        model = keras_vit.build_swin(
            num_classes=10, image_size=args.size, patch_size=args.swin_patch_size, embed_dim=args.dim, depths=depths,
            num_heads=tuple(args.num_heads * 2**stage for stage in range(len(depths))), window_size=args.window_size,
            mlp_ratio=args.mlp_dim / args.dim,
        )  # fmt: skip
    else:
        model = keras_vit.build_vit(
            num_classes=10,
            image_size=args.size,
            patch_size=args.patch_size,
            dim=args.dim,
            depth=args.depth,
            num_heads=args.num_heads,
            mlp_dim=args.mlp_dim,
        )
    model.compile(
        optimizer=keras.optimizers.AdamW(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (args.batch_size, args.size, args.size, 3)).astype("float32")
    labels = rng.integers(0, 10, args.batch_size)
    baseline = peak_rss_bytes()

    def train():
        return seconds_to_last_step(model, "fit", images, labels, batch_size=args.batch_size, epochs=1, verbose=0)[0]

    def predict():
        return seconds_to_last_step(model, "predict", images, batch_size=args.batch_size, verbose=0)[0]

    train(), predict()  # compile and warm up
    train_s = min(train() for _ in range(args.repeats))
    predict_s = min(predict() for _ in range(args.repeats))
    terms = keras_vit.flop_breakdown(model)
    if args.family == "swin":  # the first stage's tokens, each attending over its window
        tokens = (args.size // args.swin_patch_size) ** 2
        window = min(args.window_size, args.size // args.swin_patch_size) ** 2
        entries = args.num_heads * tokens * window
    else:
        tokens = (args.size // args.patch_size) ** 2 + 1
        entries = args.num_heads * tokens**2
    return dict(
        family=args.family,
        size=args.size,
        tokens=tokens,
        attention_entries=entries,
        forward_flops=sum(terms.values()),
        attention_share=(terms["attention_scores"] + terms["attention_values"]) / sum(terms.values()),
        train_ms_per_image=1000 * train_s / args.batch_size,
        predict_ms_per_image=1000 * predict_s / args.batch_size,
        peak_memory_bytes=peak_rss_bytes() - baseline,
        load_average=load_average(),
    )


def format_table(args, rows):
    lines = [
        f"{args.backend}: dim {args.dim}, depth {args.depth}, {args.num_heads} heads, MLP {args.mlp_dim}, "
        f"patch {args.patch_size}, batch {args.batch_size}; Swin: patch {args.swin_patch_size}, window "
        f"{args.window_size}, widths {args.dim} and {2 * args.dim}",
        "",
        "| model | image px | tokens T (Swin: first stage) | attention entries / layer / image | forward MFLOP / image | attention share "
        "| predict ms / image | train ms / image | peak memory growth MB | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['family']} | {row['size']} | {row['tokens']} | {row['attention_entries']:,} | {row['forward_flops'] / 1e6:,.1f} | "
            f"{100 * row['attention_share']:.0f}% | {row['predict_ms_per_image']:.2f} | {row['train_ms_per_image']:.2f} | "
            f"{row['peak_memory_bytes'] / 2**20:,.0f} | {row['load_average']:.1f} |"
        )
    return "\n".join(lines)


def plot(args, rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(12, 4.8))
    for color, family in enumerate(sorted({row["family"] for row in rows}, reverse=True)):
        mine = [row for row in rows if row["family"] == family]
        sizes = [row["size"] for row in mine]
        time_axis.plot(sizes, [row["train_ms_per_image"] for row in mine], "o-", color=f"C{color}",
                       label=f"{family}: train step (measured)")
        time_axis.plot(sizes, [row["predict_ms_per_image"] for row in mine], "o:", color=f"C{color}",
                       label=f"{family}: prediction (measured)")
        # Analytic training FLOPs scaled to meet the measured training time at the largest size.
        scale = mine[-1]["train_ms_per_image"] / (3 * mine[-1]["forward_flops"])
        time_axis.plot(sizes, [3 * row["forward_flops"] * scale for row in mine], "--", color=f"C{color}", alpha=0.5,
                       label=f"{family}: training FLOPs (scaled)")
        memory_axis.plot(sizes, [row["peak_memory_bytes"] / 2**20 for row in mine], "o-", color=f"C{color}",
                         label=f"{family}: peak memory growth, training (MB)")
    time_axis.set(xscale="log", yscale="log", xlabel="image side, px (log)", ylabel="ms per image (log)")
    time_axis.set_title(f"time per image, {args.backend}")
    memory_axis.set(xscale="log", yscale="log", xlabel="image side, px (log)", ylabel="MB (log)")
    memory_axis.set_title("memory: ViT's attention grows as T^2, Swin's as T")
    for axis in (time_axis, memory_axis):
        axis.legend(fontsize=7)
        axis.grid(True, which="both", alpha=0.3)
    figure.suptitle(f"ViT (patch {args.patch_size}) and Swin (patch {args.swin_patch_size}, window {args.window_size}), "
                    f"dim {args.dim}, depth {args.depth}: cost vs image size")
    figure.tight_layout()
    from keras_vit.files import atomic_path

    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=110)


if __name__ == "__main__":
    main()
