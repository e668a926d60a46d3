import shutil

import numpy as np
import pytest
import tensorflow as tf

from keras_vit.data import load_image_folder

CLASSES = ["airplane", "automobile", "bird"]


@pytest.fixture
def folder(cifar_folder, tmp_path):
    """A writable copy of the real CIFAR-10 training subset: 7 JPEGs in each of 3 class folders."""
    return shutil.copytree(cifar_folder / "train", tmp_path / "train")


def _write_png(path, shape):
    path.write_bytes(tf.io.encode_png(np.full(shape, 128, np.uint8)).numpy())


def test_reads_real_cifar_jpegs(folder):
    dataset, info = load_image_folder(folder)
    assert info == dict(class_names=CLASSES, num_classes=3, image_shape=(32, 32, 3), num_examples=21)
    images, labels = map(np.stack, zip(*dataset.as_numpy_iterator()))
    assert images.shape == (21, 32, 32, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(labels, np.repeat([0, 1, 2], 7))
    first = tf.io.decode_jpeg(tf.io.read_file(str(folder / "airplane" / "0000.jpg"))).numpy()
    np.testing.assert_array_equal(images[0], first)
    assert 60 < images.mean() < 200 and images.std() > 20  # real photos, not blank


def test_resizes_and_converts_channels(folder):
    dataset, info = load_image_folder(folder, image_size=(16, 24), channels=1)
    assert info["image_shape"] == (16, 24, 1)
    image, _ = next(dataset.as_numpy_iterator())
    assert image.shape == (16, 24, 1) and image.dtype == np.uint8


@pytest.mark.parametrize("content", [b"", b"this is not a jpeg", "truncated"])
def test_corrupt_image_names_the_file(folder, content):
    bad = folder / "bird" / "broken.jpg"
    real = (folder / "bird" / "0000.jpg").read_bytes()
    bad.write_bytes(real[: len(real) // 3] if content == "truncated" else content)
    with pytest.raises(ValueError, match=r"Cannot read or decode 1 image file\(s\): .*bird/broken\.jpg"):
        load_image_folder(folder)


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_image_folder(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="has no class folders"):
        load_image_folder(tmp_path)


def test_class_folder_without_images(folder):
    (folder / "cat").mkdir()
    (folder / "cat" / "notes.txt").write_text("no images here")
    with pytest.raises(ValueError, match=r"Class folder .*cat holds no images"):
        load_image_folder(folder)


def test_single_class(folder):
    for name in CLASSES[1:]:
        shutil.rmtree(folder / name)
    with pytest.raises(ValueError, match=r"single class folder \('airplane'\)"):
        load_image_folder(folder)


def test_mixed_sizes_need_image_size(folder):
    _write_png(folder / "bird" / "big.png", (40, 30, 3))
    message = r"mixed sizes \(h, w\): \(32, 32\) \(21 files.*\(40, 30\) \(1 files, e\.g\. .*big\.png\)\. Pass image_size"
    with pytest.raises(ValueError, match=message):
        load_image_folder(folder)
    dataset, info = load_image_folder(folder, image_size=32)
    assert info["num_examples"] == 22 and {image.shape for image, _ in dataset.as_numpy_iterator()} == {(32, 32, 3)}


def test_mixed_channels_need_channels(folder):
    _write_png(folder / "bird" / "gray.png", (32, 32, 1))
    with pytest.raises(ValueError, match=r"mixed channel counts: .*gray\.png.*Pass channels=1 or 3"):
        load_image_folder(folder)
    _, info = load_image_folder(folder, channels=3)
    assert info["image_shape"] == (32, 32, 3)


def test_classes_must_match_the_given_ones(folder):
    with pytest.raises(ValueError, match=r"expected the same classes as training: \['airplane', 'cat'\]"):
        load_image_folder(folder, class_names=["airplane", "cat"])
    with pytest.raises(ValueError, match="channels must be one of 1, 3; got 4"):
        load_image_folder(folder, channels=4)
