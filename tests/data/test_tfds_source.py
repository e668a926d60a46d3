import socket
import time

import numpy as np
import pytest
import tensorflow_datasets as tfds

from keras_vit.data import get_datasets, load_tfds


def test_mock_data_load():
    with tfds.testing.mock_data(num_examples=6):
        dataset, info = load_tfds("mnist", "train")
    assert info == dict(class_names=[str(i) for i in range(10)], num_classes=10, image_shape=(28, 28, 1), num_examples=6)
    images, labels = map(np.stack, zip(*dataset.as_numpy_iterator()))
    assert images.shape == (6, 28, 28, 1) and images.dtype == np.uint8 and labels.dtype == np.int64


def test_mock_data_get_datasets():
    with tfds.testing.mock_data(num_examples=10):
        train, validation, test, info = get_datasets("tfds:mnist", batch_size=4, image_size=16, augment="light")
    assert (info["num_train"], info["num_validation"], info["num_test"]) == (9, 1, 10)
    assert info["image_shape"] == (16, 16, 1)
    assert sum(int(images.shape[0]) for images, _ in validation) == 1
    images, labels = next(iter(train))
    assert images.shape == (4, 16, 16, 1) and labels.shape == (4,)
    assert 0.0 <= float(np.min(images)) and 1.0 < float(np.max(images)) <= 255.0  # raw pixels
    assert sum(int(images.shape[0]) for images, _ in test) == 10


def test_varying_image_sizes_need_image_size():
    with tfds.testing.mock_data(num_examples=3):
        with pytest.raises(ValueError, match=r"'tfds:imagenette' has images of varying size \(None, None, 3\); pass"):
            get_datasets("tfds:imagenette")
        train, _, _, info = get_datasets("tfds:imagenette", image_size=24, batch_size=2)
        images, _ = next(iter(train))
    assert info["image_shape"] == (24, 24, 3) and images.shape == (2, 24, 24, 3)


def test_not_prepared_fails_fast_with_instructions(tmp_path):
    start = time.monotonic()
    with pytest.raises(FileNotFoundError, match=r"'mnist' is not prepared\. To supply it: .*tfds build mnist.*download=True"):
        load_tfds("mnist", "train", data_dir=str(tmp_path))
    assert time.monotonic() - start < 10


def test_download_without_network_fails_fast(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    start = time.monotonic()
    with pytest.raises(ConnectionError, match=r"Cannot download tfds dataset 'mnist': .* is unreachable.*To supply it"):
        load_tfds("mnist", "train", data_dir=str(tmp_path), download=True)
    assert time.monotonic() - start < 10


def test_unknown_name_suggests_close_ones():
    with pytest.raises(ValueError, match=r"Unknown tfds dataset 'mnistt'\. Did you mean 'mnist'"):
        load_tfds("mnistt", "train")
