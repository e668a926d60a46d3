"""Regenerate the embedded default dataset (keras_vit/data/default/) from the full Fashion-MNIST files.

    python tools/make_default_dataset.py [FASHION_MNIST_DIR]

FASHION_MNIST_DIR defaults to $KERAS_VIT_DATA/fashion-mnist, else ../shared/data/fashion-mnist beside the repo.

Takes the first TRAIN_PER_CLASS images of each class from the training file and the first
TEST_PER_CLASS of each class from the test file (keras_vit/data/default.py), keeps them in their
original order, and writes them as xz-compressed IDX files. The output is byte-for-byte reproducible.
"""

import os
import pathlib
import sys

from keras_vit.data.default import TEST_PER_CLASS, TRAIN_PER_CLASS, default_paths, first_per_class
from keras_vit.data.idx import load_fashion_mnist, write_idx

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = pathlib.Path(os.environ.get("KERAS_VIT_DATA", REPO.parent / "shared" / "data"))


def main(source=SHARED_DATA / "fashion-mnist"):
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(source)
    train = first_per_class(y_train, TRAIN_PER_CLASS)
    test = first_per_class(y_test, TEST_PER_CLASS)
    paths = default_paths()
    for key, array in [("x_train", x_train[train]), ("y_train", y_train[train].astype("uint8")),
                       ("x_test", x_test[test]), ("y_test", y_test[test].astype("uint8"))]:
        write_idx(paths[key], array)
        print(f"{paths[key]}: {paths[key].stat().st_size:,} bytes")
    print(f"train indices {train[0]}..{train[-1]} ({len(train)}), test indices {test[0]}..{test[-1]} ({len(test)})")


if __name__ == "__main__":
    main(*sys.argv[1:])
