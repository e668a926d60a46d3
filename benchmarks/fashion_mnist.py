"""Benchmark: the Fashion-MNIST recipe (recipes/fashion_mnist_vit.py) on the full data set.

Prints the validation accuracy after every epoch (on the 10% of the training images held out) with the
epoch's wall time and training images/s, then the totals and the test accuracy, read once, at the end. The bar on 2 CPU cores: >= 92% test accuracy within 30 minutes.

    python benchmarks/fashion_mnist.py                      # the full run
    python benchmarks/fashion_mnist.py --epochs 1 --train-subset 6000   # a quick check

`--train-subset N` trains on the first N training images (less the validation split; still testing on all 10,000), to
check the script and estimate an epoch's time; `--data-dir` points at the folder of the four
IDX files (default: the recipe's); `--set FIELD=VALUE` overrides a field of the recipe's model, as
in `keras-vit train`. Results are written to runs/benchmark_fashion_mnist/.
"""

import argparse
import pathlib
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from timing import add_recipe_arguments, recipe_changes, train_and_report  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-subset", type=int, help="train on the first N training images only")
    parser.add_argument("--data-dir", help="folder of the Fashion-MNIST IDX files (default: the recipe's)")
    add_recipe_arguments(parser, output_dir="runs/benchmark_fashion_mnist")
    args = parser.parse_args(argv)

    from keras_vit.data import write_fashion_mnist_subset
    from keras_vit.training.cli import load_recipe

    recipe = load_recipe(str(REPO / "recipes" / "fashion_mnist_vit.py"))
    data_dir = args.data_dir or recipe.data_dir
    with tempfile.TemporaryDirectory() as folder:
        if args.train_subset:
            data_dir = write_fashion_mnist_subset(data_dir, folder, num_train=args.train_subset)
        train_and_report(recipe.replace(data_dir=data_dir, **recipe_changes(recipe, args)))


if __name__ == "__main__":
    sys.exit(main())
