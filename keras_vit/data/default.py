"""The embedded default dataset: a fixed, class-balanced subset of Fashion-MNIST shipped in `default/`.

The subset is the first `TRAIN_PER_CLASS` images of each class of the Fashion-MNIST training file and
the first `TEST_PER_CLASS` of each class of its test file, kept in their original order (see
`default/README.md`; `tools/make_default_dataset.py` regenerates it from the full files).
"""

import pathlib

import numpy as np

from keras_vit.data.idx import FASHION_MNIST_FILES, load_fashion_mnist_files

DEFAULT_DIR = pathlib.Path(__file__).resolve().with_name("default")
TRAIN_PER_CLASS = 1220
TEST_PER_CLASS = 100
NUM_CLASSES = 10


def first_per_class(labels, per_class, num_classes=NUM_CLASSES):
    """Indices (ascending) of the first `per_class` examples of each class `0..num_classes-1` in `labels`."""
    labels = np.asarray(labels)
    chosen = []
    for label in range(num_classes):
        found = np.flatnonzero(labels == label)[:per_class]
        if len(found) < per_class:
            raise ValueError(f"Class {label} has only {len(found)} examples; {per_class} were asked for.")
        chosen.append(found)
    return np.sort(np.concatenate(chosen))


def default_paths(directory=DEFAULT_DIR):
    """The four IDX (.xz) files of the embedded default, keyed like `FASHION_MNIST_FILES`."""
    return {key: pathlib.Path(directory) / f"{name}.xz" for key, name in FASHION_MNIST_FILES.items()}


def load_default():
    """The embedded Fashion-MNIST subset -> `((x_train, y_train), (x_test, y_test))`.

    Images uint8 `(N, 28, 28, 1)`, labels int64 `(N,)`: 12,200 train and 1,000 test images, class-balanced.
    """
    return load_fashion_mnist_files(default_paths())
