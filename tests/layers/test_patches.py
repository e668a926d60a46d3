import numpy as np
import pytest
from keras import ops

from keras_vit.layers import Patches


def test_square_patches_shape_and_order():
    images = np.arange(2 * 8 * 8 * 3, dtype="float32").reshape(2, 8, 8, 3)
    out = ops.convert_to_numpy(Patches(4)(images))
    assert out.shape == (2, 4, 4 * 4 * 3)
    # Patch 1 is the top-right 4x4 block, flattened as (row, col, channel).
    np.testing.assert_array_equal(out[1, 1], images[1, :4, 4:8, :].reshape(-1))


def test_rectangular_image_and_patches():
    images = np.random.default_rng(0).normal(size=(2, 6, 12, 1)).astype("float32")
    layer = Patches((3, 4))
    out = ops.convert_to_numpy(layer(images))
    assert out.shape == (2, 2 * 3, 12) == layer.compute_output_shape(images.shape)
    np.testing.assert_array_equal(out[0, 4], images[0, 3:6, 4:8, 0].reshape(-1))


def test_indivisible_image_names_both_sizes():
    with pytest.raises(ValueError, match=r"30x30 is not divisible by patch size 4x4"):
        Patches(4)(np.zeros((1, 30, 30, 3), "float32"))


@pytest.mark.parametrize("bad", [0, -2, (4,), (4, 0), "4", 2.5])
def test_bad_patch_size(bad):
    with pytest.raises(ValueError, match="patch_size"):
        Patches(bad)


def test_channels_first_images_are_named_as_such():
    """A (B, 3, 32, 32) batch used to be read as 3x32 images ("3x32 is not divisible by patch size 4x4")."""
    nchw = np.zeros((2, 3, 32, 32), "float32")
    with pytest.raises(ValueError, match=r"Patches '.*' got images of shape \(2, 3, 32, 32\), which looks channels-first "
                                         r"\(B, C, H, W\).*keras_vit takes images channels-last, \(B, H, W, C\)"):
        Patches(4)(nchw)
    # Small feature maps of many channels are channels-last (B, H, W, C), not mistaken for images.
    assert ops.convert_to_numpy(Patches(1)(np.zeros((2, 4, 4, 64), "float32"))).shape == (2, 16, 64)


def test_wrong_rank():
    with pytest.raises(ValueError, match="rank 4"):
        Patches(4)(np.zeros((8, 8, 3), "float32"))


def test_config_round_trip():
    layer = Patches((2, 4), name="p")
    clone = Patches.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
