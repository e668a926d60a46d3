"""`check_pixels(model, images)`: arrays checked against the model's input convention (raw pixels in [0, 255],
channels-last) where images enter the package: the export's data, the inspect analyses."""

import warnings

import keras
import numpy as np
import pytest

import keras_vit
from keras_vit import check_pixels


@pytest.fixture
def model(tiny):
    return keras_vit.build_vit(num_classes=5, **tiny)


def test_raw_pixels_pass_unchanged(model, pixels):
    assert check_pixels(model, pixels) is pixels  # uint8, as read from files
    floats = pixels.astype("float32")
    np.testing.assert_array_equal(check_pixels(model, floats), floats)
    assert check_pixels(model, np.zeros((2, 16, 16, 3), "float32")).shape == (2, 16, 16, 3)  # black images
    tensor = keras.ops.convert_to_tensor(floats)
    np.testing.assert_array_equal(check_pixels(model, tensor), floats)


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((2, 3, 16, 16)), r"images for model '.*' got images of shape \(2, 3, 16, 16\), which looks channels-first "
                                   r"\(B, C, H, W\).*\(B, H, W, C\) = \(B, 16, 16, 3\): transpose them"),
        (np.zeros((16, 16, 3)), r"images of shape \(16, 16, 3\) is one image; model '.*' takes a batch \(B, 16, 16, 3\): "
                                r"add the batch axis"),
        (np.zeros((2, 16, 16, 1)), r"images must be images shaped \(N, 16, 16, 3\); got \(2, 16, 16, 1\) \(model '.*' takes "
                                   r"\(B, 16, 16, 3\) images\)"),
        (np.zeros((0, 16, 16, 3)), r"images is an empty batch"),
        (np.full((2, 16, 16, 3), np.nan), r"images hold 1536 NaN or infinite value\(s\)"),
        (np.full((2, 16, 16, 3), -1.0), r"images have values in \[-1, -1\], outside \[0, 255\]: model '.*' takes raw pixels"),
        (np.full((2, 16, 16, 3), 300.0), r"images have values in \[300, 300\], outside \[0, 255\]"),
        (np.full((2, 16, 16, 3), 0.5), r"images have values in \[0.5, 0.5\]: they look scaled to \[0, 1\], but model '.*' "
                                       r"takes raw pixels in \[0, 255\] .* pass the raw pixels \(images \* 255\)"),
    ],
    ids=["channels-first", "one-image", "shape", "empty", "nan", "negative", "above-255", "scaled-to-0-1"],
)
def test_images_against_the_convention_are_named(model, images, message):
    with pytest.raises(ValueError, match=message):
        check_pixels(model, images)


def test_scaled_images_are_a_warning_when_not_strict(model, images):
    with pytest.warns(UserWarning, match=r"representative_data have values in .*: they look scaled to \[0, 1\]"):
        check_pixels(model, images, name="representative_data", strict=False)


def test_other_keras_models_get_the_shape_checks_only(images):
    inputs = keras.Input((16, 16, 3))
    plain = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_pixels(plain, images)  # [0, 1] may be its convention
        check_pixels(plain, images - 0.5)
    with pytest.raises(ValueError, match="looks channels-first"):
        check_pixels(plain, np.transpose(images, (0, 3, 1, 2)))
