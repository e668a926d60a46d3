"""`get_datasets(input_normalization=(mean, std))`: (x - mean) / std after augmentation, train and test."""

import numpy as np
import pytest

from keras_vit.data import AugmentConfig, get_datasets

MEAN, STD = (0.4, 0.5, 0.6), (0.2, 0.25, 0.5)


def first_batches(folder, **options):
    train, test, info = get_datasets(
        "folder", data_dir=folder, batch_size=8, augment=AugmentConfig(pad_crop=4), seed=3, **options
    )
    return np.asarray(next(iter(train))[0]), np.asarray(next(iter(test))[0]), info


def test_normalization_applies_after_augmentation_to_train_and_test(cifar_folder):
    train, test, _ = first_batches(cifar_folder)
    train_normalized, test_normalized, info = first_batches(cifar_folder, input_normalization=(MEAN, STD))
    # The same seed gives the same shuffled, shifted images. Normalizing before the random shift would
    # give its zero padding the value -mean / std instead of 0, so the match also checks the order.
    assert info["image_shape"] == (32, 32, 3) and np.any(train == 0.0)
    np.testing.assert_allclose(train_normalized, (train - np.array(MEAN)) / np.array(STD), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(test_normalized, (test - np.array(MEAN)) / np.array(STD), rtol=1e-5, atol=1e-6)


def test_one_value_for_all_channels(cifar_folder):
    train, _, _ = first_batches(cifar_folder)
    train_normalized, _, _ = first_batches(cifar_folder, input_normalization=(0.5, (0.5,)))
    np.testing.assert_allclose(train_normalized, train * 2 - 1, atol=1e-6)
    assert -1.0 <= train_normalized.min() and train_normalized.max() <= 1.0


@pytest.mark.parametrize(
    "bad, message",
    [
        ((0.5,), r"must be a pair \(mean, std\).*got \(0.5,\)"),
        ((0.5, 0.5, 0.5), r"must be a pair \(mean, std\)"),
        (((0.5,), "0.5"), r"each a number or a sequence of numbers.*got \(\(0.5,\), '0.5'\)"),
        (((), (0.5,)), r"must be a pair \(mean, std\)"),
        (((0.5,), (0.5, 0.0, 0.5)), r"std must be > 0 everywhere; got std=\(0.5, 0.0, 0.5\)"),
    ],
)
def test_bad_normalization_is_refused_before_reading_data(tmp_path, bad, message):
    with pytest.raises(ValueError, match=message):
        get_datasets("folder", data_dir=tmp_path / "not-read", input_normalization=bad)


def test_normalization_needs_one_value_or_one_per_channel(cifar_folder):
    message = r"mean has 2 values \(0.5, 0.5\), but the images have 3 channel\(s\); give 1 or 3"
    with pytest.raises(ValueError, match=message):
        get_datasets("folder", data_dir=cifar_folder, input_normalization=((0.5, 0.5), 0.5))
