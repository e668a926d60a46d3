"""Cost of a ViT against image size at a fixed patch size: time per image, peak memory, attention size.

    python benchmarks/resolution_cost.py                      # jax, 32..512 px, patch 16, a small model
    python benchmarks/resolution_cost.py --backend torch --sizes 32,64,128,256

Each image size runs in its own process (so that the peak memory of one size is not hidden by another's)
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
    parser.add_argument("--repeats", type=int, default=2, help="timed calls per size (the best is kept)")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "resolution_cost"), help="output path stem")
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)  # one size, in a child process
    return parser.parse_args(argv)


def main():
    args = parse_args()
    if args.size is not None:
        check_backend(args.backend)
        print("RESULT " + json.dumps(measure(args)), flush=True)
        return
    sizes = [int(size) for size in args.sizes.split(",") if size]
    bad = [size for size in sizes if size <= 0 or size % args.patch_size]
    if bad or not sizes:
        raise SystemExit(f"--sizes must be positive multiples of --patch-size {args.patch_size}; got {args.sizes!r}.")
    rows = []
    for size in sizes:
        rows += [json.loads(line) for line in run_child(args.backend, [*sys.argv, "--size", str(size)])]
        print(f"{size} px done", flush=True)
    table = format_table(args, rows)
    print(table)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".md", "w") as file:
        file.write(table + "\n")
    plot(args, rows, args.out + ".png")
    print(f"wrote {args.out}.md and {args.out}.png")


def measure(args):
    import keras
    import numpy as np

    import keras_vit

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
    tokens = (args.size // args.patch_size) ** 2 + 1
    return dict(
        size=args.size,
        tokens=tokens,
        attention_entries=args.num_heads * tokens**2,
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
        f"patch {args.patch_size}, batch {args.batch_size}",
        "",
        "| image px | tokens T | attention entries / layer / image | forward MFLOP / image | attention share "
        "| predict ms / image | train ms / image | peak memory growth MB | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['size']} | {row['tokens']} | {row['attention_entries']:,} | {row['forward_flops'] / 1e6:,.1f} | "
            f"{100 * row['attention_share']:.0f}% | {row['predict_ms_per_image']:.2f} | {row['train_ms_per_image']:.2f} | "
            f"{row['peak_memory_bytes'] / 2**20:,.0f} | {row['load_average']:.1f} |"
        )
    return "\n".join(lines)


def plot(args, rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tokens = [row["tokens"] for row in rows]
    labels = [f"{row['size']}px" for row in rows]
    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(12, 4.8))
    for key, label in (("train_ms_per_image", "train step"), ("predict_ms_per_image", "prediction")):
        time_axis.plot(tokens, [row[key] for row in rows], "o-", label=f"{label} (measured)")
    # Analytic FLOPs scaled to meet the measured training time at the largest size.
    scale = rows[-1]["train_ms_per_image"] / (3 * rows[-1]["forward_flops"])
    time_axis.plot(tokens, [3 * row["forward_flops"] * scale for row in rows], "k--", label="training FLOPs (scaled)")
    time_axis.set(xscale="log", yscale="log", xlabel="tokens T (log)", ylabel="ms per image (log)")
    time_axis.set_title(f"time per image, {args.backend}")
    memory_axis.plot(tokens, [row["peak_memory_bytes"] / 2**20 for row in rows], "o-", color="C2",
                     label="peak memory growth, training (MB)")
    memory_axis.plot(tokens, [4 * args.batch_size * args.depth * row["attention_entries"] / 2**20 for row in rows],
                     "s--", color="C3", label=f"float32 attention weights, all layers, batch {args.batch_size} (MB)")
    memory_axis.set(xscale="log", yscale="log", xlabel="tokens T (log)", ylabel="MB (log)")
    memory_axis.set_title("memory; attention entries grow as T^2")
    for axis in (time_axis, memory_axis):
        axis.legend(fontsize=8)
        axis.grid(True, which="both", alpha=0.3)
        for token_count, label in zip(tokens, labels):
            axis.annotate(label, (token_count, axis.get_ylim()[0]), fontsize=7, rotation=90, va="bottom", ha="center")
    figure.suptitle(
        f"ViT dim {args.dim}, depth {args.depth}, {args.num_heads} heads, patch {args.patch_size}: cost vs image size"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
