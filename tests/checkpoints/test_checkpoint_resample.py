"""Position-embedding resampling: bicubic over the patch grid, prefix tokens kept, checked against torch."""

import keras
import numpy as np
import pytest
import torch

import keras_vit
from keras_vit.checkpoints.resample import resample_position_table
from keras_vit.layers.position_embeddings import sincos_2d


def _torch_resample(table, num_prefix, old_grid, new_grid):
    """The independent reference: torch's bicubic interpolate (align_corners=False) of the patch rows."""
    patches = torch.from_numpy(table[0, num_prefix:]).double().reshape(*old_grid, -1).permute(2, 0, 1)[None]
    resized = torch.nn.functional.interpolate(patches, size=new_grid, mode="bicubic", align_corners=False)
    resized = resized[0].permute(1, 2, 0).reshape(1, new_grid[0] * new_grid[1], -1).float().numpy()
    return np.concatenate([table[:, :num_prefix], resized], axis=1)


@pytest.mark.parametrize(
    "old_grid, new_grid",
    [((2, 8), (4, 4)), ((4, 4), (2, 8)), ((3, 5), (6, 4)), ((4, 4), (7, 7)), ((6, 6), (4, 4))],
    ids=["2x8-to-4x4-same-count", "4x4-to-2x8-same-count", "rectangular", "up", "down"],
)
def test_resampling_matches_torch_bicubic_and_keeps_prefix_rows(old_grid, new_grid):
    table = np.random.default_rng(0).normal(size=(1, 2 + old_grid[0] * old_grid[1], 8)).astype("float32")

    resampled = resample_position_table(table, 2, old_grid, new_grid)

    np.testing.assert_allclose(resampled, _torch_resample(table, 2, old_grid, new_grid), atol=1e-6)
    np.testing.assert_array_equal(resampled[:, :2], table[:, :2])
    if old_grid[0] * old_grid[1] == new_grid[0] * new_grid[1]:  # equal token count: really resampled, not kept
        assert np.abs(resampled - table).max() > 0.1


def test_resampling_to_the_same_grid_is_the_identity():
    table = np.random.default_rng(0).normal(size=(1, 1 + 15, 8)).astype("float32")
    np.testing.assert_array_equal(resample_position_table(table, 1, (3, 5), (3, 5)), table)


def test_resize_position_embeddings_on_a_built_model(make_vit, images, logits):
    model = make_vit()
    old_table = keras.ops.convert_to_numpy(model.patch_encoder.position_embeddings)

    wide = keras_vit.resize_position_embeddings(model, (8, 32))
    same = keras_vit.resize_position_embeddings(model, 16)

    assert wide.input_shape == (None, 8, 32, 3)
    new_table = keras.ops.convert_to_numpy(wide.patch_encoder.position_embeddings)
    np.testing.assert_allclose(new_table, _torch_resample(old_table, 1, (4, 4), (2, 8)), atol=1e-6)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(wide.blocks[1].fc1.kernel),
                                  keras.ops.convert_to_numpy(model.blocks[1].fc1.kernel))
    assert logits(wide, np.zeros((3, 8, 32, 3), "float32")).shape == (3, 5)
    np.testing.assert_array_equal(logits(same, images), logits(model, images))
    assert model.input_shape == (None, 16, 16, 3)  # the original is untouched


def test_resize_recomputes_a_fixed_sincos_table(make_vit):
    resized = keras_vit.resize_position_embeddings(make_vit(position_embedding="sincos2d"), (8, 24))
    table = keras.ops.convert_to_numpy(resized.patch_encoder.position_embeddings)
    np.testing.assert_allclose(table[0], sincos_2d((2, 6), 32), atol=1e-6)


def test_load_checkpoint_at_a_new_image_size_resamples(tmp_path, make_vit):
    model = make_vit()
    old_table = keras.ops.convert_to_numpy(model.patch_encoder.position_embeddings)
    path = keras_vit.save_checkpoint(model, tmp_path / "vit.safetensors")

    bigger = keras_vit.load_checkpoint(path, image_size=24)

    new_table = keras.ops.convert_to_numpy(bigger.patch_encoder.position_embeddings)
    np.testing.assert_allclose(new_table, _torch_resample(old_table, 1, (4, 4), (6, 6)), atol=1e-6)
