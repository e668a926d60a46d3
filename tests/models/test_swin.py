"""SwinTransformer and the hybrid ViTs: timm's parameter counts, the model object's parts, serialization, FLOPs."""

import dataclasses

import keras
import numpy as np
import pytest

import keras_vit
from keras_vit import SwinConfig, SwinTransformer, build_swin, get_config, list_configs
from keras_vit.performance.params import parameter_count

TINY_SWIN = dict(image_size=16, patch_size=2, embed_dim=16, depths=(2, 2), num_heads=(2, 4), window_size=4)

# timm's `sum(p.numel() for p in model.parameters())` at 1000 classes.
TIMM_COUNTS = {
    "swin_tiny_patch4_window7_224": 28_288_354,
    "swin_small_patch4_window7_224": 49_606_258,
    "swin_base_patch4_window7_224": 87_768_224,
    "vit_tiny_r_s16_p8_224": 6_337_704,
    "vit_small_r26_s32_224": 36_431_912,
    "vit_base_r50_s16_384": 98_950_952,
}


@pytest.mark.parametrize("name", sorted(TIMM_COUNTS))
def test_named_configs_have_timms_parameter_counts(name):
    assert parameter_count(name, 1000) == TIMM_COUNTS[name]


def test_swin_and_hybrid_rows_are_listed_with_their_config_types():
    assert {"swin_tiny_patch2_window4_32", "swin_tiny_patch2_window7_28"} <= set(list_configs("swin_*"))
    assert isinstance(get_config("swin_tiny_patch4_window7_224"), SwinConfig)
    assert get_config("vit_small_r26_s32_224").patch_embedding == "resnetv2"


@pytest.mark.parametrize("name", ["swin_tiny_patch2_window4_32", "swin_tiny_patch2_window7_28", "vit_tiny_r8_s4_32"])
def test_small_image_configs_build_and_count_what_parameter_count_says(name):
    build = build_swin if name.startswith("swin") else keras_vit.build_vit
    model = build(name, num_classes=10)
    pixels = np.random.default_rng(0).integers(0, 256, (2, *model.image_shape)).astype("float32")

    assert model.name == name
    assert model.count_params() == parameter_count(name, 10)
    assert keras.ops.convert_to_numpy(model(pixels)).shape == (2, 10)


def test_swin_declares_its_parts_and_timms_no_weight_decay_and_groups():
    model = build_swin(num_classes=5, **TINY_SWIN)

    assert [len(model.stage_blocks(stage)) for stage in range(2)] == [2, 2]
    assert [block.shifted for block in model.blocks] == [False, True, False, True]
    assert [block.shift for block in model.blocks] == [(0, 0), (2, 2), (0, 0), (0, 0)]  # the 4x4 map is one window
    decayless = {id(v) for v in model.no_weight_decay()}
    assert all(id(block.attn.relative_position_bias_table) in decayless for block in model.blocks)
    assert all(id(block.attn.qkv.kernel) not in decayless for block in model.blocks)
    grouped = [w for group in model.layer_groups() for layer in group for w in layer.weights]
    assert sorted(id(w) for w in grouped) == sorted(id(w) for w in model.weights)
    assert model.feature_layers == model.blocks


def test_swin_keras_file_round_trip_rebuilds_the_same_model(tmp_path, pixels):
    model = build_swin(num_classes=3, class_names=["a", "b", "c"], input_normalization=(0.5, 0.25),
                       drop_path_rate=0.1, **TINY_SWIN)  # fmt: skip
    path = tmp_path / "swin.keras"
    model.save(path)

    loaded = keras_vit.load_model(path)

    assert isinstance(loaded, SwinTransformer) and loaded.config == model.config
    assert loaded.get_config() == model.get_config()
    assert loaded.class_names == ["a", "b", "c"]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(pixels)), keras.ops.convert_to_numpy(model(pixels)),
                               atol=1e-6)  # fmt: skip


def test_get_config_mirrors_the_constructor():
    model = build_swin(num_classes=None, include_top=False, **TINY_SWIN)

    config = model.get_config()

    assert set(config) == {"name", "trainable", "dtype", "class_names", "input_normalization", "config",
                           "num_classes", "include_top"}  # fmt: skip
    assert SwinTransformer.from_config(config).config == model.config
    assert model.output_shape == (None, 32)


def test_bad_swin_configs_and_mixed_builders_are_refused_clearly():
    with pytest.raises(ValueError, match="cannot be halved"):
        build_swin(num_classes=2, **{**TINY_SWIN, "image_size": 12, "depths": (2, 2, 2), "num_heads": (2, 2, 2)})
    with pytest.raises(ValueError, match="build it with build_swin"):
        keras_vit.build_vit("swin_tiny_patch2_window4_32", num_classes=2)
    with pytest.raises(ValueError, match="use build_vit"):
        build_swin("vit_tiny_patch4_32", num_classes=2)
    with pytest.raises(ValueError, match="one entry per stage"):
        build_swin(num_classes=2, **{**TINY_SWIN, "num_heads": (2,)})
    with pytest.raises(ValueError, match="Unknown config field.*SwinConfig"):
        build_swin("swin_tiny_patch2_window4_32", num_classes=2, dim=3)


def test_swin_attention_flops_grow_linearly_with_image_area_and_vits_quadratically():
    swin = [keras_vit.flop_breakdown("swin_tiny_patch4_window7_224", size)["attention_scores"] for size in (224, 448)]
    vit = [keras_vit.flop_breakdown("vit_tiny_patch16_224", size)["attention_scores"] for size in (224, 448)]

    assert swin[1] == 4 * swin[0]
    assert vit[1] > 15 * vit[0]
    assert round(keras_vit.flops("swin_tiny_patch4_window7_224") / 1e9, 1) == 9.0  # Liu et al.: 4.5 GMACs


def test_flops_count_the_built_swins_windows_and_the_hybrids_backbone():
    model = build_swin(num_classes=5, **TINY_SWIN)
    config = dataclasses.replace(model.config)

    assert keras_vit.flops(model) == keras_vit.flops(config, num_classes=5)
    # vit_tiny_r8_s4_32 on 32x32: the 7x7 stem to 16x16x32, max pooling to 8x8, two bottlenecks (32 -> 128, the
    # first with its projection), the 1x1 projection to 192; 2 FLOPs per multiply-add.
    cells = 8 * 8
    stem = 2 * 16 * 16 * 7 * 7 * 3 * 32
    first = 2 * cells * (32 * 32 + 9 * 32 * 32 + 32 * 128 + 32 * 128)
    second = 2 * cells * (128 * 32 + 9 * 32 * 32 + 32 * 128)
    assert keras_vit.flop_breakdown("vit_tiny_r8_s4_32")["patch_embedding"] == stem + first + second + 2 * cells * 128 * 192


def test_keras_vit_list_shows_swin_rows_with_timms_counts(capsys):
    from keras_vit.cli import main

    assert main(["list", "swin_tiny_patch4*"]) == 0
    assert "28,288,354" in capsys.readouterr().out
