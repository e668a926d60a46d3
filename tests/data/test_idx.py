import gzip
import struct

import numpy as np
import pytest

from keras_vit.data import load_fashion_mnist, load_idx, write_idx


@pytest.fixture
def small():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (5, 4, 3), dtype=np.uint8), rng.integers(0, 10, 5).astype(np.uint8)


@pytest.mark.parametrize("suffix", ["", ".gz", ".xz"])
def test_round_trip_raw_and_compressed(tmp_path, small, suffix):
    images, labels = small
    image_path = write_idx(tmp_path / f"images{suffix}", images)
    label_path = write_idx(tmp_path / f"labels{suffix}", labels)
    x, y = load_idx(image_path, label_path)
    assert x.shape == (5, 4, 3, 1) and x.dtype == np.uint8 and y.dtype == np.int64
    np.testing.assert_array_equal(x[..., 0], images)
    np.testing.assert_array_equal(y, labels)
    assert load_idx(image_path)[1] is None


def test_wrong_magic_names_file_and_magic(tmp_path, small):
    labels_path = write_idx(tmp_path / "labels", small[1])
    with pytest.raises(ValueError, match=r"labels.*magic number 2049; expected 2051"):
        load_idx(labels_path)
    images_path = write_idx(tmp_path / "images", small[0])
    with pytest.raises(ValueError, match=r"images.*magic number 2051; expected 2049"):
        load_idx(images_path, images_path)


def test_size_disagreeing_with_header_is_an_error(tmp_path, small):
    path = write_idx(tmp_path / "images", small[0])
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(ValueError, match=r"images.*dims \(5, 4, 3\).*76 bytes.*69 bytes"):
        load_idx(path)
    (tmp_path / "short").write_bytes(struct.pack(">II", 2051, 5))
    with pytest.raises(ValueError, match="shorter than its 16-byte header"):
        load_idx(tmp_path / "short")


def test_image_and_label_counts_must_agree(tmp_path, small):
    images = write_idx(tmp_path / "images", small[0])
    labels = write_idx(tmp_path / "labels", small[1][:4])
    with pytest.raises(ValueError, match=r"holds 5 images but .*labels holds 4 labels"):
        load_idx(images, labels)


def test_corrupt_or_missing_file_is_named(tmp_path):
    bad = tmp_path / "images.gz"
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="Cannot read IDX file .*images.gz"):
        load_idx(bad)
    with pytest.raises(FileNotFoundError, match="nothing.gz"):
        load_idx(tmp_path / "nothing.gz")


def test_fashion_mnist_folder_missing_a_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz"):
        load_fashion_mnist(tmp_path)


def test_real_fashion_mnist(data_dir):
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(data_dir / "fashion-mnist")
    assert x_train.shape == (60000, 28, 28, 1) and x_test.shape == (10000, 28, 28, 1)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [1000] * 10)
    # The published first labels: ankle boot, T-shirt, T-shirt, dress, ...
    np.testing.assert_array_equal(y_train[:10], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5])
    np.testing.assert_array_equal(y_test[:10], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])
    raw = gzip.open(data_dir / "fashion-mnist" / "t10k-images-idx3-ubyte.gz").read()
    np.testing.assert_array_equal(x_test[-1, :, :, 0], np.frombuffer(raw[-784:], np.uint8).reshape(28, 28))
