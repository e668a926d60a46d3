import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_vit.data import AugmentConfig, load_default
from keras_vit.data.augment import _Equalization, batch_augmenter, image_augmenter, rand_augment

SHAPE = (28, 28, 1)


@pytest.fixture(scope="module")
def real():
    """64 real Fashion-MNIST images as float32 raw pixels in [0, 255], and their labels."""
    (x, y), _ = load_default()
    return x[:64].astype("float32"), y[:64]


def per_image(config, images, seed=0):
    augment = image_augmenter(config, SHAPE, seed)
    dataset = tf.data.Dataset.from_tensor_slices((images, np.zeros(len(images), np.int64))).map(augment)
    return np.stack([image for image, _ in dataset.as_numpy_iterator()])


def per_batch(config, images, labels, seed=0, label_smoothing=0.0):
    augment = batch_augmenter(config, 10, seed, label_smoothing)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(16).map(augment)
    out = list(dataset.as_numpy_iterator())
    return np.concatenate([x for x, _ in out]), np.concatenate([y for _, y in out])


def shifted(image, dy, dx):
    """`image` moved by (dy, dx) pixels with zeros coming in: what pad-and-crop produces."""
    padded = np.pad(image, ((4, 4), (4, 4), (0, 0)))
    return padded[4 - dy : 4 - dy + 28, 4 - dx : 4 - dx + 28]


def test_switches_off_is_identity():
    config = AugmentConfig.none()
    assert image_augmenter(config, SHAPE, 0) is None and batch_augmenter(config, 10, 0) is None
    assert not config.mixes_labels and AugmentConfig.from_value(None) == config


def test_pad_crop_shifts_each_image_independently(real):
    images, _ = real
    out = per_image(AugmentConfig(pad_crop=4), images)
    assert out.shape == images.shape
    shifts = []
    for before, after in zip(images, out):
        matches = [(dy, dx) for dy in range(-4, 5) for dx in range(-4, 5) if np.array_equal(shifted(before, dy, dx), after)]
        assert matches, "pad-and-crop output is not a shifted input"
        shifts.append(matches[0])
    assert len(set(shifts)) > 10 and sum(s != (0, 0) for s in shifts) > 50  # random per image, and it does change them


def test_flip_mirrors_about_half(real):
    images, _ = real
    out = per_image(AugmentConfig(horizontal_flip=True), images)
    same = [np.array_equal(a, b) for a, b in zip(images, out)]
    mirrored = [np.array_equal(a[:, ::-1], b) for a, b in zip(images, out)]
    assert all(s or m for s, m in zip(same, mirrored)) and 16 < sum(mirrored) < 48


def test_random_resized_crop_keeps_shape_and_changes_images(real):
    images, _ = real
    out = per_image(AugmentConfig(random_resized_crop=True, crop_scale=(0.3, 0.6)), images)
    assert out.shape == images.shape and 0.0 <= out.min() and out.max() <= 255.0
    assert np.mean([not np.allclose(a, b) for a, b in zip(images, out)]) > 0.9


def test_rand_augment_on_grayscale(real):
    images, _ = real
    out = per_image(AugmentConfig(rand_augment=True), images[:16])
    assert out.shape == (16, 28, 28, 1) and 0.0 <= out.min() and out.max() <= 255.0
    assert np.mean([not np.allclose(a, b) for a, b in zip(images, out)]) > 0.5
    assert isinstance(rand_augment(2, 0.3, 0).equalization, _Equalization)


def test_equalization_histogram_is_a_plain_histogram(real):
    images, _ = real
    layer = _Equalization(value_range=(0, 255), dtype="float32")
    values = images[:4]
    histogram = layer._custom_histogram_fixed_width(keras.ops.convert_to_tensor(values), (0, 255), 256)
    expected = np.bincount(values.astype(np.int32).ravel(), minlength=256)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(histogram), expected)


@pytest.mark.parametrize("mix", [dict(mixup_alpha=0.8), dict(cutmix_alpha=1.0), dict(mixup_alpha=0.8, cutmix_alpha=1.0)])
def test_mixing_gives_soft_labels_that_sum_to_one(real, mix):
    images, labels = real
    config = AugmentConfig(**mix)
    out, soft = per_batch(config, images, labels)
    assert config.mixes_labels and soft.shape == (64, 10) and soft.dtype == np.float32
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, atol=1e-5)
    assert (soft.max(axis=1) < 0.99).mean() > 0.3  # many labels really are mixtures
    assert out.shape == images.shape and not np.allclose(out, images) and 0.0 <= out.min() and out.max() <= 255.0


def test_label_smoothing(real):
    images, labels = real
    out, soft = per_batch(AugmentConfig(), images, labels, label_smoothing=0.1)
    np.testing.assert_array_equal(out, images)
    np.testing.assert_allclose(soft, np.eye(10)[labels] * 0.9 + 0.01, atol=1e-6)


def test_random_erasing_changes_some_images_and_stays_in_range(real):
    images, labels = real
    out, out_labels = per_batch(AugmentConfig(random_erasing=0.5), images, labels)
    changed = np.mean([not np.array_equal(a, b) for a, b in zip(images, out)])
    assert 0.2 < changed < 0.8 and 0.0 <= out.min() and out.max() <= 255.0
    np.testing.assert_array_equal(out_labels, labels)  # int labels untouched without soft-label switches


def test_presets():
    light, deit = AugmentConfig.light(), AugmentConfig.deit()
    assert (light.pad_crop, light.horizontal_flip, light.mixes_labels) == (4, True, False)
    assert not AugmentConfig.light(horizontal_flip=False).horizontal_flip
    assert deit.random_resized_crop and deit.rand_augment and deit.mixes_labels
    assert (deit.mixup_alpha, deit.cutmix_alpha, deit.random_erasing) == (0.8, 1.0, 0.25)
    assert AugmentConfig.from_value("deit") == deit


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(pad_crop=-1), "pad_crop must be an int >= 0"),
        (dict(horizontal_flip="yes"), "horizontal_flip must be True or False; got 'yes'"),
        (dict(pad_crop=4, random_resized_crop=True), "choose pad_crop or random_resized_crop"),
        (dict(crop_scale=(0.5, 0.2)), r"crop_scale must be a pair .*got \(0.5, 0.2\)"),
        (dict(cutmix_alpha=2.0), r"cutmix_alpha must be a number in \[0, 1\]; got 2.0"),
        (dict(random_erasing=1.5), "random_erasing must be"),
        (dict(rand_augment_ops=0), "rand_augment_ops must be a positive int; got 0"),
    ],
)
def test_bad_config_names_the_field(bad, message):
    with pytest.raises(ValueError, match=message):
        AugmentConfig(**bad)


def test_unknown_preset():
    with pytest.raises(ValueError, match=r"one of 'none', 'flip', 'light', 'deit'; got 'strong'"):
        AugmentConfig.from_value("strong")
    assert dataclasses.replace(AugmentConfig.none(), mixup_alpha=0.2).mixes_labels
