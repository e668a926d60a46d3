"""Data is checked when it is loaded: a label outside [0, num_classes) in any source, or a pixel that is not
a finite value in [0, 255], is an error naming the file or source, the bad values and the valid range."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from keras_vit.data import get_datasets, load_idx, load_tfds, write_fashion_mnist_subset, write_idx
from keras_vit.data.checks import check_labels

LABEL_ERROR = r"holds 2 label\(s\) outside \[0, 10\): 12 \(1x\), 255 \(1x\), the first at index 3\. With 10 classes the valid labels are 0 to 9\."


@pytest.fixture
def bad_idx_dir(data_dir, tmp_path):
    """64 training / 32 test images of the real Fashion-MNIST, the training labels 3 and 10 set to 12 and 255."""
    (tmp_path / "idx").mkdir()
    folder = write_fashion_mnist_subset(data_dir / "fashion-mnist", tmp_path / "idx", 64, 32)

    path = folder / "train-labels-idx1-ubyte.gz"
    _, labels = load_idx(folder / "train-images-idx3-ubyte.gz", path)
    labels = labels.astype("uint8")
    labels[3], labels[10] = 12, 255
    write_idx(path, labels)
    return folder


def test_idx_labels_outside_the_classes_name_the_file(bad_idx_dir):
    with pytest.raises(ValueError, match=r"IDX labels file .*train-labels-idx1-ubyte\.gz " + LABEL_ERROR):
        get_datasets("fashion_mnist_idx", data_dir=bad_idx_dir, label_smoothing=0.1)


def _mnist_with_labels(labels):
    def as_dataset(self, split, decoders=None, read_config=None, **kwargs):
        return tf.data.Dataset.from_tensor_slices(
            {"image": np.zeros((len(labels), 28, 28, 1), np.uint8), "label": np.array(labels, np.int64)}
        )

    return tfds.testing.mock_data(num_examples=len(labels), as_dataset_fn=as_dataset)


def test_tfds_labels_outside_the_classes_name_the_dataset_and_split():
    with _mnist_with_labels([1, 2, 3, 12, 0, 255, 9]):
        with pytest.raises(ValueError, match=r"tfds dataset 'mnist' split 'train' " + LABEL_ERROR):
            load_tfds("mnist", "train")
    with _mnist_with_labels([-1, -1, 4]):  # how tfds marks unlabeled examples
        with pytest.raises(ValueError, match=r"split 'train' holds 2 label\(s\) outside \[0, 10\): -1 \(2x\), the first at index 0"):
            get_datasets("tfds:mnist", batch_size=2)
    with _mnist_with_labels(list(range(10))):
        _, info = load_tfds("mnist", "train")
    assert info["num_classes"] == 10


def arrays(train_images=None, train_labels=None):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 8, 8, 3)).astype("float32")
    labels = np.arange(12) % 3
    return {
        "train": (images if train_images is None else train_images, labels if train_labels is None else train_labels),
        "test": (images[:6], labels[:6]),
        "class_names": ["a", "b", "c"],
    }


def test_arrays_source_trains_on_raw_pixels():
    source = arrays()
    train, validation, test, info = get_datasets(source, batch_size=4, seed=1, validation_split=0)
    assert (info["num_classes"], info["num_train"], info["num_test"], info["image_shape"]) == (3, 12, 6, (8, 8, 3))
    assert validation is None and info["num_validation"] == 0
    images, labels = next(iter(test))
    np.testing.assert_array_equal(images, source["train"][0][:4])
    assert labels.dtype == tf.int64 and list(np.asarray(labels)) == [0, 1, 2, 0]
    assert sum(len(y) for _, y in train) == 12


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(train_labels=np.array([0, 1, 2, 3, 0, 1, -2, 0, 1, 2, 0, 1])),
         r"'train' split \(labels\) holds 2 label\(s\) outside \[0, 3\): -2 \(1x\), 3 \(1x\), the first at index 3\. "
         r"With 3 classes the valid labels are 0 to 2\."),
        (dict(train_labels=np.full(12, 0.5)), r"'train' split \(labels\) holds labels of dtype float64 that are not whole"),
        (dict(train_images=np.where(np.arange(12)[:, None, None, None] == 5, np.nan, 1.0) * np.ones((12, 8, 8, 3))),
         r"'train' split \(images\) holds 192 non-finite pixel value\(s\) \(nan \(192x\)\), the first in image 5\. "
         r"Images are raw pixel values, finite, in \[0, 255\]\."),
        (dict(train_images=np.full((12, 8, 8, 3), 300.0)), r"holds pixel values in \[300, 300\]; images are raw pixel values in \[0, 255\]"),
        (dict(train_images=np.zeros((12, 8, 8))), r"'train' split must be images \(N, H, W, C\) and labels \(N,\)"),
    ],
    ids=["labels", "float-labels", "nan-pixels", "pixels-above-255", "shape"],
)
def test_arrays_source_refuses_bad_labels_and_pixels(changes, message):
    with pytest.raises(ValueError, match=message):
        get_datasets(arrays(**changes))


def test_check_labels_accepts_the_whole_range():
    np.testing.assert_array_equal(check_labels(np.array([0, 9, 5]), 10, "labels"), [0, 9, 5])
    with pytest.raises(ValueError, match=r"labels holds 1 label\(s\) outside \[0, 10\): 10 \(1x\), the first at index 2"):
        check_labels(np.array([0, 9, 10]), 10, "labels")
