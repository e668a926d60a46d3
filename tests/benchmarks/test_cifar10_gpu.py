"""benchmarks/cifar10_gpu.py: its random resized crop and its batches of mixed, smoothed labels."""

import keras
import numpy as np
import pytest
from script_module import load_script


@pytest.fixture(scope="module")
def script():
    return load_script("benchmarks/cifar10_gpu.py")


def ramps(batch=8, size=16):
    """Channel 0 holds each pixel's column, channel 1 its row."""
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    image = np.stack([cols, rows], axis=-1).astype("float32")
    return np.repeat(image[None], batch, axis=0)


def test_random_resized_crop_zooms_into_a_random_box_per_image(script):
    crop = script.RandomResizedCrop(scale=(0.25, 0.25), ratio=(1.0, 1.0), seed=3)
    images = ramps()
    out = keras.ops.convert_to_numpy(crop(images, training=True))
    assert out.shape == images.shape
    # A box of a quarter of the area, square: half the side, so each output pixel moves 0.5 input
    # pixels (away from the first and last rows and columns, which may read past the image's edge).
    inner = out[:, 1:-1, 1:-1]
    np.testing.assert_allclose(np.diff(inner[..., 0], axis=2), 0.5, atol=1e-4)
    np.testing.assert_allclose(np.diff(inner[..., 1], axis=1), 0.5, atol=1e-4)
    np.testing.assert_allclose(np.diff(inner[..., 0], axis=1), 0.0, atol=1e-4)
    # Output pixel 1 reads input 0.25 + the box's offset, which lies in [0, 16 - 8].
    left, top = inner[:, 0, 0, 0] - 0.25, inner[:, 0, 0, 1] - 0.25
    assert np.all((left >= -1e-4) & (left <= 8 + 1e-4)) and np.all((top >= -1e-4) & (top <= 8 + 1e-4))
    assert len(np.unique(np.round(left, 3))) > 1  # each image gets its own box


def test_random_resized_crop_is_the_identity_at_full_scale_and_at_inference(script):
    images = ramps()
    full = script.RandomResizedCrop(scale=(1.0, 1.0), ratio=(1.0, 1.0), seed=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(full(images, training=True)), images, atol=1e-4)
    some = script.RandomResizedCrop(scale=(0.08, 1.0), ratio=(0.75, 4 / 3), seed=0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(some(images, training=False)), images)


def test_batches_hold_raw_pixels_and_soft_labels(script):
    augment = script.load_augment_config("deit")
    rng = np.random.default_rng(0)
    images = keras.ops.convert_to_tensor(rng.integers(0, 256, (40, 8, 8, 3)).astype("uint8"))
    labels = keras.ops.convert_to_tensor(rng.integers(0, 10, 40).astype("int32"))
    batches = script.batches(images, labels, 16, augment, 10, seed=0, label_smoothing=0.1)
    assert len(batches) == 2  # whole batches only
    for index in range(len(batches)):
        x, y = (keras.ops.convert_to_numpy(t) for t in batches[index])
        assert x.shape == (16, 8, 8, 3) and y.shape == (16, 10)
        assert x.min() >= 0 and x.max() <= 255 and x.max() > 1
        np.testing.assert_allclose(y.sum(axis=1), 1.0, atol=1e-5)
        assert y.min() >= 0.1 / 10 * 0.999  # label smoothing 0.1 survives mixing


def test_load_split_names_a_missing_class_folder(script, tmp_path):
    (tmp_path / "train" / "airplane").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="automobile"):
        script.load_split(tmp_path, "train")
