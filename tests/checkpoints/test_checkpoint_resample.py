"""Position-embedding resampling: bicubic over the patch grid, prefix tokens kept, checked against torch and against
timm's `resample_abs_pos_embed` (antialiased by default), written from its source."""

import keras
import numpy as np
import pytest
import torch

import keras_vit
from keras_vit.checkpoints.resample import resample_position_table
from keras_vit.layers.position_embeddings import sincos_2d

GRIDS = [((2, 8), (4, 4)), ((4, 4), (2, 8)), ((3, 5), (6, 4)), ((4, 4), (7, 7)), ((6, 6), (4, 4)), ((14, 14), (24, 24)),
         ((24, 24), (14, 14)), ((9, 7), (4, 3))]
GRID_IDS = ["2x8-to-4x4-same-count", "4x4-to-2x8-same-count", "rectangular", "up", "down", "224-to-384-at-16",
            "384-to-224-at-16", "rectangular-down"]


def _torch_resample(table, num_prefix, old_grid, new_grid, antialias=True):
    """The independent reference: torch's bicubic interpolate (align_corners=False) of the patch rows, in float64."""
    patches = torch.from_numpy(table[0, num_prefix:]).double().reshape(*old_grid, -1).permute(2, 0, 1)[None]
    resized = torch.nn.functional.interpolate(patches, size=new_grid, mode="bicubic", align_corners=False,
                                              antialias=antialias)  # fmt: skip
    resized = resized[0].permute(1, 2, 0).reshape(1, new_grid[0] * new_grid[1], -1).float().numpy()
    return np.concatenate([table[:, :num_prefix], resized], axis=1)


def _timm_resample_abs_pos_embed(posemb, new_size, old_size, num_prefix_tokens):
    """timm.layers.pos_embed.resample_abs_pos_embed with its defaults (interpolation="bicubic", antialias=True)."""
    posemb = torch.from_numpy(posemb)
    posemb_prefix, posemb = posemb[:, :num_prefix_tokens], posemb[:, num_prefix_tokens:]
    embed_dim, orig_dtype = posemb.shape[-1], posemb.dtype
    posemb = posemb.float().reshape(1, old_size[0], old_size[1], -1).permute(0, 3, 1, 2)
    posemb = torch.nn.functional.interpolate(posemb, size=new_size, mode="bicubic", antialias=True)
    posemb = posemb.permute(0, 2, 3, 1).reshape(1, -1, embed_dim).to(orig_dtype)
    return torch.cat([posemb_prefix, posemb], dim=1).numpy()


@pytest.mark.parametrize("antialias", [True, False], ids=["antialias", "plain"])
@pytest.mark.parametrize("old_grid, new_grid", GRIDS, ids=GRID_IDS)
def test_resampling_matches_torch_bicubic_and_keeps_prefix_rows(old_grid, new_grid, antialias):
    table = np.random.default_rng(0).normal(size=(1, 2 + old_grid[0] * old_grid[1], 8)).astype("float32")

    resampled = resample_position_table(table, 2, old_grid, new_grid, antialias=antialias)

    np.testing.assert_allclose(resampled, _torch_resample(table, 2, old_grid, new_grid, antialias), atol=1e-6)
    np.testing.assert_array_equal(resampled[:, :2], table[:, :2])
    if old_grid[0] * old_grid[1] == new_grid[0] * new_grid[1]:  # equal token count: really resampled, not kept
        assert np.abs(resampled - table).max() > 0.1


@pytest.mark.parametrize("old_grid, new_grid", GRIDS, ids=GRID_IDS)
def test_default_resampling_is_timms_resample_abs_pos_embed(old_grid, new_grid):
    table = np.random.default_rng(1).normal(0, 0.02, size=(1, 1 + old_grid[0] * old_grid[1], 32)).astype("float32")

    resampled = resample_position_table(table, 1, old_grid, new_grid)

    np.testing.assert_allclose(resampled, _timm_resample_abs_pos_embed(table, new_grid, old_grid, 1), rtol=0, atol=1e-5)


def test_antialiasing_changes_upsampled_tables_as_much_as_timm_and_torch_differ():
    """timm's default differs from plain bicubic even when upsampling (PIL's a = -0.5 kernel, edge weights
    renormalized): a ViT-B/16 grid at 224 -> 384 moves by up to about 7e-3 for entries drawn from N(0, 0.02)."""
    table = np.random.default_rng(2).normal(0, 0.02, size=(1, 1 + 14 * 14, 64)).astype("float32")
    antialiased = resample_position_table(table, 1, (14, 14), (24, 24))
    plain = resample_position_table(table, 1, (14, 14), (24, 24), antialias=False)
    assert np.abs(antialiased - plain).max() > 2e-3


def test_resampling_to_the_same_grid_is_the_identity():
    table = np.random.default_rng(0).normal(size=(1, 1 + 15, 8)).astype("float32")
    np.testing.assert_array_equal(resample_position_table(table, 1, (3, 5), (3, 5)), table)


def test_resize_position_embeddings_on_a_built_model(make_vit, images, logits):
    model = make_vit()
    old_table = keras.ops.convert_to_numpy(model.patch_encoder.position_embeddings)

    wide = keras_vit.resize_position_embeddings(model, (8, 32))
    plain = keras_vit.resize_position_embeddings(model, (8, 32), antialias=False)
    same = keras_vit.resize_position_embeddings(model, 16)

    assert wide.input_shape == (None, 8, 32, 3)
    new_table = keras.ops.convert_to_numpy(wide.patch_encoder.position_embeddings)
    np.testing.assert_allclose(new_table, _torch_resample(old_table, 1, (4, 4), (2, 8)), atol=1e-6)
    plain_table = keras.ops.convert_to_numpy(plain.patch_encoder.position_embeddings)
    np.testing.assert_allclose(plain_table, _torch_resample(old_table, 1, (4, 4), (2, 8), antialias=False), atol=1e-6)
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
    plain = keras_vit.load_checkpoint(path, image_size=24, antialias=False)

    new_table = keras.ops.convert_to_numpy(bigger.patch_encoder.position_embeddings)
    np.testing.assert_allclose(new_table, _torch_resample(old_table, 1, (4, 4), (6, 6)), atol=1e-6)
    plain_table = keras.ops.convert_to_numpy(plain.patch_encoder.position_embeddings)
    np.testing.assert_allclose(plain_table, _torch_resample(old_table, 1, (4, 4), (6, 6), antialias=False), atol=1e-6)


@pytest.mark.parametrize("variant", [dict(no_embed_class=True, reg_tokens=2), dict(reg_tokens=2)],
                         ids=["no-embed-class-registers", "registers-with-positions"])
def test_resize_keeps_the_prefix_rows_the_table_has(make_vit, variant):
    model = make_vit(**variant)
    table = keras.ops.convert_to_numpy(model.patch_encoder.position_embeddings)
    rows = model.patch_encoder.num_position_prefix_tokens

    resized = keras_vit.resize_position_embeddings(model, (8, 24))

    assert rows == (0 if variant.get("no_embed_class") else 3)
    new_table = keras.ops.convert_to_numpy(resized.patch_encoder.position_embeddings)
    np.testing.assert_allclose(new_table, _torch_resample(table, rows, (4, 4), (2, 6)), atol=1e-6)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(resized.patch_encoder.reg_token),
                                  keras.ops.convert_to_numpy(model.patch_encoder.reg_token))
