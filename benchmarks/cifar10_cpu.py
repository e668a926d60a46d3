"""Benchmark: the CPU CIFAR-10 recipe (recipes/cifar10_vit_cpu.py) from scratch. The bar on 2 CPU
cores: >= 85% test accuracy within 60 minutes of wall time.

Prints the float32 matmul rate of this backend before and after the run (so that figures from different
machines can be compared), the validation accuracy after every epoch (on the 10% of the training images
held out) with the epoch's wall time and training images/s, then the totals and the test accuracy, read
once, at the end.

    python benchmarks/cifar10_cpu.py --data-dir DIR          # DIR: the unpacked cifar10-jpg.tar.gz
    python benchmarks/cifar10_cpu.py --data-dir DIR --epochs 1 --set depth=1   # a quick check

`--epochs`, `--augment` and `--set FIELD=VALUE` (a model override, as in `keras-vit train`) change the
recipe. Results are written to runs/benchmark_cifar10_cpu/.

    python benchmarks/cifar10_cpu.py --step-speed "depth=4" "dim=192,depth=4,num_heads=3,mlp_dim=384" "patch_size=2"

times training steps (batch 128, random pixels, no data) of the recipe's model and of each variant (model
fields to change, comma-separated), alternating, and prints each one's images/s and GFLOP per training
image: what an hour of each buys on this machine, without training any.
"""

import argparse
import pathlib
import statistics
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from timing import add_recipe_arguments, matmul_flops_per_second, recipe_changes, seconds, train_and_report  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="image folder with train/<class>/ and test/<class>/ (required to train)")
    add_recipe_arguments(parser, output_dir="runs/benchmark_cifar10_cpu")
    parser.add_argument("--step-speed", nargs="*", metavar="FIELD=VALUE,...", help="time training steps of the "
                        "recipe's model and of these variants instead of training")
    parser.add_argument("--rounds", type=int, default=5, help="--step-speed: rounds of 4 steps per model")
    args = parser.parse_args(argv)
    if args.step_speed is not None:
        return step_speed(args.step_speed, args.rounds)
    if not args.data_dir:
        parser.error("--data-dir is required (the unpacked cifar10-jpg.tar.gz), unless --step-speed is given")

    from keras_vit.training.cli import load_recipe

    recipe = load_recipe(str(REPO / "recipes" / "cifar10_vit_cpu.py"))
    config = recipe.replace(data_dir=args.data_dir, **recipe_changes(recipe, args))
    print(f"float32 matmul (2048^3, best of 3) before: {matmul_flops_per_second() / 1e9:.0f} GFLOP/s", flush=True)
    train_and_report(config, after_training=lambda: print(f"float32 matmul after: {matmul_flops_per_second() / 1e9:.0f} GFLOP/s"))


def step_speed(variants, rounds, batch_size=128):
    """Prints images/s of training steps of the recipe's model and of each variant, timed alternately."""
    import keras
    import numpy as np

    import keras_vit
    from keras_vit.training.cli import load_recipe, set_overrides

    recipe = load_recipe(str(REPO / "recipes" / "cifar10_vit_cpu.py"))
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (batch_size, 32, 32, 3)).astype("uint8")
    labels = rng.integers(0, 10, (batch_size,))
    models = {}
    for variant in ["recipe", *variants]:
        changes = [] if variant == "recipe" else variant.split(",")
        model = keras_vit.build_vit(recipe.model, num_classes=10, **set_overrides(recipe.model_overrides, changes))
        model.compile(optimizer=keras.optimizers.AdamW(1e-3), loss="sparse_categorical_crossentropy")
        for _ in range(2):  # compile and warm up
            model.train_on_batch(images, labels)
        models[variant] = model
    step_seconds = {variant: [] for variant in models}
    for _ in range(rounds):
        for variant, model in models.items():
            step_seconds[variant].append(seconds(lambda: [model.train_on_batch(images, labels) for _ in range(4)]) / 4)
    print(f"backend: {keras.backend.backend()}, batch {batch_size}, median of {rounds} rounds of 4 steps")
    for variant, model in models.items():
        per_second = batch_size / statistics.median(step_seconds[variant])
        gflop = keras_vit.flops(model, training=True) / 1e9
        print(f"{variant}: {per_second:.0f} images/s, {gflop:.3f} GFLOP per training image, "
              f"{model.count_params():,} parameters, {per_second * 3600 / 45_000:.1f} epochs of 45,000 an hour")


if __name__ == "__main__":
    sys.exit(main())
