"""Swin Transformers and hybrid ViTs in timm's and transformers' layouts: logits equal to the references."""

import json

import keras
import numpy as np
import pytest
import torch
from perturbed_weights import perturb
from safetensors.numpy import load_file
from timm_swin_reference import timm_hybrid_forward, timm_resize_rel_pos_bias_table, timm_swin_forward

import keras_vit

TINY_SWIN = dict(image_size=16, patch_size=2, embed_dim=16, depths=(2, 2), num_heads=(2, 4), window_size=4)


def make_swin(num_classes=5, **overrides):
    return perturb(keras_vit.build_swin(num_classes=num_classes, **{**TINY_SWIN, **overrides}))


def pictures(size, channels=3, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (2, *size, channels)).astype("float32")


def test_swin_timm_layout_matches_a_forward_pass_written_from_timm_and_round_trips(tmp_path, logits, assert_same_weights):
    model = make_swin()
    images = pictures((16, 16))

    path = keras_vit.save_checkpoint(model, tmp_path / "swin.safetensors")
    state = load_file(path)
    rebuilt = keras_vit.load_checkpoint(path)

    assert "layers.1.downsample.reduction.weight" in state and "head.fc.weight" in state
    assert state["layers.0.blocks.1.attn.relative_position_bias_table"].shape == (49, 2)
    np.testing.assert_allclose(timm_swin_forward(state, images, window_size=4), logits(model, images), atol=1e-4)
    assert_same_weights(model, rebuilt)
    assert rebuilt.config == model.config


def test_swin_pads_maps_that_are_not_whole_windows_as_timm_does(tmp_path, logits):
    # 12x12 images: a 6x6 map in 4x4 windows (padded to 8x8, shifted and masked), then 3x3 (one window).
    model = make_swin(image_size=12)
    images = pictures((12, 12))

    state = load_file(keras_vit.save_checkpoint(model, tmp_path / "swin.safetensors"))

    np.testing.assert_allclose(timm_swin_forward(state, images, window_size=4), logits(model, images), atol=1e-4)


def test_swin_table_read_from_the_tensors_when_no_config_is_recorded(tmp_path, logits):
    model = make_swin(num_classes=None, include_top=False)
    path = tmp_path / "swin.safetensors"
    from safetensors.numpy import save_file

    save_file(load_file(keras_vit.save_checkpoint(model, path)), str(path))  # without keras_vit's metadata

    with pytest.raises(ValueError, match="image_size="):
        keras_vit.load_checkpoint(path, input_normalization=(0, 1))
    rebuilt = keras_vit.load_checkpoint(path, image_size=16, input_normalization=(0, 1))

    assert (rebuilt.config.depths, rebuilt.config.num_heads, rebuilt.config.window_size) == ((2, 2), (2, 4), 4)
    images = pictures((16, 16))
    np.testing.assert_allclose(logits(rebuilt, images), logits(model, images), atol=1e-5)


def test_bias_tables_are_resampled_for_another_window_as_timm_does(tmp_path):
    model = make_swin(image_size=32)
    path = keras_vit.save_checkpoint(model, tmp_path / "swin.safetensors")

    resized = keras_vit.load_checkpoint(path, window_size=6)

    table = load_file(path)["layers.0.blocks.0.attn.relative_position_bias_table"]
    expected = timm_resize_rel_pos_bias_table(table, (6, 6))
    got = keras.ops.convert_to_numpy(resized.blocks[0].attn.relative_position_bias_table)
    assert got.shape == (121, 2)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def _hf_swin(tmp_path, head):
    from transformers import SwinConfig, SwinForImageClassification, SwinModel

    config = SwinConfig(image_size=16, patch_size=2, embed_dim=16, depths=[2, 2], num_heads=[2, 4], window_size=4,
                        num_labels=5)  # fmt: skip
    torch.manual_seed(0)
    reference = (SwinForImageClassification if head else SwinModel)(config).eval()
    with torch.no_grad():
        for parameter in reference.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.2 + 0.05)
    reference.save_pretrained(tmp_path)
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"image_mean": [0.5] * 3, "image_std": [0.5] * 3}))
    return reference


@pytest.mark.parametrize("head", [True, False], ids=["SwinForImageClassification", "SwinModel"])
def test_transformers_swin_folders_give_the_same_outputs(tmp_path, head):
    reference = _hf_swin(tmp_path, head)
    pixels = np.random.default_rng(1).integers(0, 256, (2, 16, 16, 3)).astype("float32")

    model = keras_vit.load_checkpoint(tmp_path)

    with torch.no_grad():
        outputs = reference(torch.from_numpy((pixels / 255.0 - 0.5) / 0.5).permute(0, 3, 1, 2))
    expected = (outputs.logits if head else outputs.pooler_output).numpy()
    np.testing.assert_allclose(np.asarray(model.predict(pixels, verbose=0)), expected, atol=1e-4)
    assert model.input_normalization == ((0.5,) * 3, (0.5,) * 3)


def test_hybrid_timm_layout_matches_a_forward_pass_written_from_timm_and_round_trips(tmp_path, logits, assert_same_weights):
    model = perturb(keras_vit.build_vit(
        num_classes=5, image_size=32, patch_size=1, dim=32, depth=2, num_heads=4, mlp_dim=64,
        patch_embedding="resnetv2", backbone_layers=(1, 1), backbone_width=32,
    ))  # fmt: skip
    images = pictures((32, 32))

    path = keras_vit.save_checkpoint(model, tmp_path / "hybrid.safetensors")
    state = load_file(path)
    rebuilt = keras_vit.load_checkpoint(path)

    assert "patch_embed.backbone.stages.1.blocks.0.downsample.conv.weight" in state
    np.testing.assert_allclose(timm_hybrid_forward(state, images, num_heads=4), logits(model, images), atol=1e-4)
    assert_same_weights(model, rebuilt)


def test_stem_only_hybrid_uses_timms_bare_stem_names(tmp_path, logits):
    model = perturb(keras_vit.build_vit(
        num_classes=3, image_size=32, patch_size=2, dim=32, depth=1, num_heads=4, mlp_dim=64,
        patch_embedding="resnetv2", backbone_width=32,
    ))  # fmt: skip
    images = pictures((32, 32))

    state = load_file(keras_vit.save_checkpoint(model, tmp_path / "hybrid.safetensors"))

    assert "patch_embed.backbone.conv.weight" in state and "patch_embed.backbone.norm.weight" in state
    np.testing.assert_allclose(timm_hybrid_forward(state, images, num_heads=4), logits(model, images), atol=1e-4)
