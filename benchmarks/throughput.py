"""Training and prediction images/s of keras_vit against keras-hub's ViT, measured side by side.

    python benchmarks/throughput.py                           # the reference: vit_tiny_patch4_32, batch 128
    python benchmarks/throughput.py --config vit_nano_patch4_28 --batch-size 256 --backends jax

For each backend (one process each; the script re-launches itself) it builds keras_vit's model and
keras-hub's `ViTBackbone` + a Dense head on the CLS token with the same dimensions, checks that both
have the same parameter count and, with keras_vit's weights copied into keras-hub's, the same float32
outputs (prints the max difference), then times `fit` and `predict` on random images, each call to the
end of its last step (`timing.seconds_to_last_step`), alternating the models call by call so that a
change in the machine's load hits both alike. keras_vit's model is the one `build_vit` returns and
`keras-vit train` trains (raw pixels in, its rescaling inside; in training its last block computes the
CLS token only); keras-hub's takes the images already divided by 255, as its preprocessor gives them.
Both are compiled alike with Keras' defaults (`compile_options.py` compares other settings).
Model FLOP/s use `keras_vit.flops(..., training=True)` (3x forward) for both models, as MFU does, and are
compared with the best float32 matmul measured in the same run.
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import (  # noqa: E402
    BACKENDS,
    check_backend,
    check_backends,
    limit_threads,
    load_average,
    matmul_flops_per_second,
    run_child,
    seconds_to_last_step,
)

# The reference of issue 8 (= vit_tiny_patch4_32): 32 px, patch 4, dim 192, depth 6, heads 3, MLP 768.
REFERENCE = "vit_tiny_patch4_32"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=REFERENCE, help=f"a keras_vit config name (default {REFERENCE})")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--num-classes", type=int, default=10)
    parser.add_argument("--steps", type=int, default=1, help="training/prediction batches per timed call")
    parser.add_argument("--rounds", type=int, default=5, help="timed calls per model (medians are reported)")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated; one process each")
    parser.add_argument("--compile", default="{}", help="JSON kwargs for every model's compile, e.g. '{\"jit_compile\": true}'")
    parser.add_argument(
        "--threads", type=int, help="threads per process (default: the backend's own, all cores); with 1, the "
        "CPU-time rates are nearly independent of other jobs on the cores"
    )
    parser.add_argument("--backend", help=argparse.SUPPRESS)  # set by the re-launch
    return parser.parse_args(argv)


def main():
    args = parse_args()
    if args.backend is None:
        results = []
        for backend in check_backends(args.backends):
            results += [json.loads(line) for line in run_child(backend, [*sys.argv, "--backend", backend])]
        print_summary(results)
    else:
        check_backend(args.backend)
        if args.threads:
            limit_threads(args.backend, args.threads)
        print("RESULT " + json.dumps(run_backend(args)), flush=True)


def run_backend(args):
    import keras
    import numpy as np

    import keras_vit
    from keras_hub_vit import matched_models, max_output_difference, random_images

    backend = keras.backend.backend()
    load_start = load_average()
    config, vit, hub = matched_models(args.config, args.num_classes)
    difference = max_output_difference(vit, hub, config)

    contenders = {"keras_vit": vit, "keras-hub": hub}
    compile_kwargs = json.loads(args.compile)
    for model in contenders.values():
        model.compile(
            optimizer=keras.optimizers.AdamW(1e-3),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            **compile_kwargs,
        )

    count = args.steps * args.batch_size
    pixels = random_images(config, count)
    inputs = {"keras_vit": pixels, "keras-hub": pixels / 255.0}  # each model's input convention
    labels = np.random.default_rng(1).integers(0, args.num_classes, count)
    model_names = {id(model): name for name, model in contenders.items()}

    def train(model):
        images = inputs[model_names[id(model)]]
        return seconds_to_last_step(
            model, "fit", images, labels, batch_size=args.batch_size, epochs=1, verbose=0, shuffle=False
        )

    def predict(model):
        images = inputs[model_names[id(model)]]
        return seconds_to_last_step(model, "predict", images, batch_size=args.batch_size, verbose=0)

    for model in contenders.values():  # compile and warm up
        train(model)
        predict(model)
    times = {(name, task): [] for name in contenders for task in ("train", "predict")}
    cpu_times = {key: [] for key in times}
    peaks = []
    names = list(contenders)
    for round_index in range(args.rounds):
        order = names[round_index % len(names):] + names[: round_index % len(names)]
        for task, action in (("train", train), ("predict", predict)):
            for name in order:
                wall, cpu = action(contenders[name])
                times[(name, task)].append(wall)
                cpu_times[(name, task)].append(cpu)
        peaks.append(matmul_flops_per_second())
    # The same product timed in CPU seconds: the peak that CPU-time rates are compared with.
    cpu_peak = matmul_flops_per_second(clock=time.process_time)

    train_flops = keras_vit.flops(vit, training=True)
    forward_flops = keras_vit.flops(vit)
    peak = max(peaks)
    rows = []
    for name in names:
        train_rate = count / statistics.median(times[(name, "train")])
        predict_rate = count / statistics.median(times[(name, "predict")])
        rows.append(
            dict(
                model=name,
                train_images_per_s=train_rate,
                predict_images_per_s=predict_rate,
                # keras-hub's time over this model's in the same round (calls next to each other), median over
                # rounds: steadier than a ratio of medians while the load changes.
                train_speedup=paired_speedup(times[("keras-hub", "train")], times[(name, "train")]),
                predict_speedup=paired_speedup(times[("keras-hub", "predict")], times[(name, "predict")]),
                train_flops_per_s=train_rate * train_flops,
                predict_flops_per_s=predict_rate * forward_flops,
                train_images_per_cpu_s=count / statistics.median(cpu_times[(name, "train")]),
                predict_images_per_cpu_s=count / statistics.median(cpu_times[(name, "predict")]),
                train_cpu_speedup=paired_speedup(cpu_times[("keras-hub", "train")], cpu_times[(name, "train")]),
                predict_cpu_speedup=paired_speedup(cpu_times[("keras-hub", "predict")], cpu_times[(name, "predict")]),
            )
        )
    result = dict(
        backend=backend,
        config=args.config,
        batch_size=args.batch_size,
        params=vit.count_params(),
        max_output_difference=difference,
        compile=compile_kwargs,
        forward_flops_per_image=forward_flops,
        matmul_peak_flops_per_s=peak,
        matmul_peak_flops_per_cpu_s=cpu_peak,
        threads=args.threads,
        load_average=(load_start, load_average()),
        rows=rows,
    )
    print_backend(result)
    return result


def paired_speedup(reference_times, times):
    return statistics.median(reference / time for reference, time in zip(reference_times, times))


def print_backend(result):
    peak, cpu_peak = result["matmul_peak_flops_per_s"], result["matmul_peak_flops_per_cpu_s"]
    print(
        f"\n== {result['backend']}: {result['config']}, batch {result['batch_size']}, "
        f"threads {result['threads'] or 'backend default'}, {result['params']:,} parameters in both models; "
        f"max |logit difference| in float32: keras_vit vs keras-hub (copied weights) "
        f"{result['max_output_difference']:.1e}\n"
        f"   forward {result['forward_flops_per_image'] / 1e6:.1f} MFLOP/image (training 3x); float32 matmul peak "
        f"{peak / 1e9:.1f} GFLOP/s ({cpu_peak / 1e9:.1f} per CPU-second); compile {result['compile'] or 'Keras defaults'}; "
        f"load average {result['load_average'][0]:.1f} -> {result['load_average'][1]:.1f}\n"
        f"   wall-clock: images/s, speedup over keras-hub (median of per-round ratios), model FLOP/s and its share "
        f"of the matmul peak; CPU time: images per CPU-second and speedup"
    )
    print(
        f"   {'model':<31}{'train img/s':>12}{'x hub':>7}{'GFLOP/s':>9}{'% peak':>8}{'predict img/s':>15}{'x hub':>7}"
        f"{'train img/CPU-s':>17}{'x hub':>7}{'% peak':>8}{'predict img/CPU-s':>19}{'x hub':>7}"
    )
    for row in result["rows"]:
        cpu_flops = row["train_images_per_cpu_s"] * 3 * result["forward_flops_per_image"]
        print(
            f"   {row['model']:<31}{row['train_images_per_s']:>12.1f}{row['train_speedup']:>7.2f}"
            f"{row['train_flops_per_s'] / 1e9:>9.1f}{100 * row['train_flops_per_s'] / peak:>7.0f}%"
            f"{row['predict_images_per_s']:>15.1f}{row['predict_speedup']:>7.2f}"
            f"{row['train_images_per_cpu_s']:>17.1f}{row['train_cpu_speedup']:>7.2f}{100 * cpu_flops / cpu_peak:>7.0f}%"
            f"{row['predict_images_per_cpu_s']:>19.1f}{row['predict_cpu_speedup']:>7.2f}",
            flush=True,
        )


def print_summary(results):
    print(
        "\n| backend | threads | train img/s: keras_vit / keras-hub | train x hub | predict img/s: keras_vit / "
        "keras-hub | predict x hub | CPU-time x hub: train, predict | train MFU | max logit diff vs hub | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for result in results:
        rows = {row["model"]: row for row in result["rows"]}
        ours, hub = rows["keras_vit"], rows["keras-hub"]
        print(
            f"| {result['backend']} | {result['threads'] or 'default'} | {ours['train_images_per_s']:.1f} / "
            f"{hub['train_images_per_s']:.1f} | {ours['train_speedup']:.2f} | {ours['predict_images_per_s']:.1f} / "
            f"{hub['predict_images_per_s']:.1f} | {ours['predict_speedup']:.2f} | {ours['train_cpu_speedup']:.2f}, "
            f"{ours['predict_cpu_speedup']:.2f} | {100 * ours['train_flops_per_s'] / result['matmul_peak_flops_per_s']:.0f}% | "
            f"{result['max_output_difference']:.1e} | {result['load_average'][0]:.1f}-{result['load_average'][1]:.1f} |"
        )


if __name__ == "__main__":
    main()
