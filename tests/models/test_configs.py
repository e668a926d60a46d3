import pytest

import keras_vit
from keras_vit.performance.params import parameter_count
from keras_vit.models.configs import CONFIGS, ViTConfig

# timm's parameter counts with 1000 classes.
TIMM_PARAMS = {
    "vit_tiny_patch16_224": 5_717_416,
    "vit_small_patch16_224": 22_050_664,
    "vit_base_patch16_224": 86_567_656,
    "vit_base_patch32_224": 88_224_232,
    "vit_large_patch16_224": 304_326_632,
}


# timm's parameter counts with 1000 classes of the families timm builds from the same VisionTransformer (DINOv2 at
# its 518 px; their rounded figures are timm's results/benchmark-infer-*.csv param_count at each model's default
# classes; equal to transformers' Dinov2Model / CLIPVisionModel / SiglipVisionModel of the same sizes, less
# DINOv2's mask token, plus the head).
TIMM_FAMILY_PARAMS = {
    "vit_small_patch14_dinov2": 22_441_192,
    "vit_base_patch14_dinov2": 87_348_712,
    "vit_large_patch14_dinov2": 305_392_616,
    "vit_small_patch14_reg4_dinov2": 22_442_344,
    "vit_base_patch14_reg4_dinov2": 87_351_016,
    "vit_large_patch14_reg4_dinov2": 305_395_688,
    "vit_base_patch32_clip_224": 88_225_000,
    "vit_base_patch16_clip_224": 86_568_424,
    "vit_large_patch14_clip_224": 304_204_776,
    "vit_base_patch32_clip_quickgelu_224": 88_225_000,
    "vit_base_patch16_clip_quickgelu_224": 86_568_424,
    "vit_large_patch14_clip_quickgelu_224": 304_204_776,
    "vit_base_patch16_siglip_224": 93_653_224,
    "vit_base_patch16_siglip_256": 93_699_304,
    "vit_so400m_patch14_siglip_224": 428_833_704,
    "deit3_small_patch16_224": 22_059_496,
    "deit3_medium_patch16_224": 38_849_512,
    "deit3_base_patch16_224": 86_585_320,
    "deit3_large_patch16_224": 304_374_760,
}


def test_list_configs_is_the_table():
    names = keras_vit.list_configs()
    assert names == sorted(CONFIGS)
    for name in [*TIMM_PARAMS, "vit_small_patch32_224", "vit_tiny_patch4_32", "vit_tiny_patch4_28"]:
        assert name in names
    assert keras_vit.get_config("vit_tiny_patch4_28").channels == 1
    assert keras_vit.get_config("vit_tiny_patch4_32").image_size == 32


# Initializing a 300M-parameter model at random takes tens of seconds; its count depends on the shapes alone,
# which the same code declares on every backend, so the ViT-L-and-up rows are built under one backend.
LARGE = 200_000_000


@pytest.mark.parametrize(
    "name",
    [pytest.param(name, marks=pytest.mark.one_backend("torch")) if TIMM_PARAMS[name] > LARGE else name
     for name in sorted(TIMM_PARAMS)],
)  # fmt: skip
def test_parameter_counts_match_timm(name):
    model = keras_vit.build_vit(name, num_classes=1000)
    assert model.count_params() == TIMM_PARAMS[name]


def test_overrides_replace_fields():
    config = keras_vit.get_config("vit_base_patch16_224", depth=2, qk_norm=True)
    assert isinstance(config, ViTConfig)
    assert (config.dim, config.depth, config.qk_norm) == (768, 2, True)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"Unknown config name 'vit_huge'.*vit_base_patch16_224"):
        keras_vit.get_config("vit_huge")


def test_unknown_field_lists_valid_fields():
    with pytest.raises(ValueError, match=r"Unknown config field\(s\) \['width'\].*patch_size, dim, depth"):
        keras_vit.build_vit("vit_tiny_patch16_224", num_classes=10, width=3)


@pytest.mark.parametrize("name", sorted(TIMM_FAMILY_PARAMS))
def test_parameter_counts_of_the_families_match_timm(name):
    """The model built with one block, plus its block's count for each of the others (the blocks are one shape):
    building every block of these models costs minutes of weight initialization."""
    config = keras_vit.get_config(name)
    model = keras_vit.build_vit(name, num_classes=1000, depth=1)
    assert model.count_params() + (config.depth - 1) * model.blocks[0].count_params() == TIMM_FAMILY_PARAMS[name]


def test_family_rows_set_the_switches_timm_builds_them_with():
    dinov2, registers = keras_vit.get_config("vit_small_patch14_dinov2"), keras_vit.get_config("vit_small_patch14_reg4_dinov2")
    assert (dinov2.image_size, dinov2.patch_size, dinov2.init_values, dinov2.reg_tokens) == (518, 14, 1e-5, 0)
    assert (registers.reg_tokens, registers.no_embed_class) == (4, True)
    clip, quick = keras_vit.get_config("vit_base_patch16_clip_224"), keras_vit.get_config("vit_base_patch16_clip_quickgelu_224")
    assert (clip.norm_pre, clip.layer_norm_epsilon, clip.activation, quick.activation) == (True, 1e-5, "gelu", "quick_gelu")
    siglip = keras_vit.get_config("vit_so400m_patch14_siglip_224")
    assert (siglip.class_token, siglip.pooling, siglip.dim // siglip.num_heads, siglip.mlp_dim) == (False, "map", 72, 4304)
    deit3 = keras_vit.get_config("deit3_base_patch16_224")
    assert (deit3.no_embed_class, deit3.init_values, deit3.pooling) == (True, 1e-6, "token")


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(fc_norm=True), r"fc_norm=True normalizes the mean of the patch tokens .* needs pooling='gap', got pooling='token'"),
        (dict(distillation_token=True, reg_tokens=2), r"reg_tokens=2 with distillation_token=True"),
        (dict(no_embed_class=True, position_embedding="sincos2d"), r"no_embed_class=True leaves the prefix tokens out"),
        (dict(activation="relu"), r"activation must be one of 'gelu', 'gelu_tanh', 'quick_gelu'; got 'relu'"),
        (dict(reg_tokens=-1), r"reg_tokens must be an int >= 0 \(0: none\); got -1"),
        (dict(pooling="max"), r"pooling must be one of 'token', 'gap', 'map'; got 'max'"),
        (dict(norm_pre=1), r"norm_pre must be True or False; got 1"),
    ],
)
def test_family_switches_are_checked(fields, message):
    with pytest.raises(ValueError, match=message):
        keras_vit.build_vit(num_classes=3, image_size=16, patch_size=4, dim=32, depth=1, num_heads=4, mlp_dim=64, **fields)


@pytest.mark.parametrize("name", sorted({**TIMM_PARAMS, **TIMM_FAMILY_PARAMS}))
def test_parameter_count_of_every_timm_row_without_building_it(name):
    """What `keras-vit list` shows, from the config alone."""
    assert parameter_count(name) == {**TIMM_PARAMS, **TIMM_FAMILY_PARAMS}[name]


def test_validate_config_without_the_size_checks_every_other_field():
    """What a trainer checks before it reads the data that sets the image size."""
    from keras_vit.models.configs import validate_config

    uneven = keras_vit.get_config("vit_nano_patch4_28", image_size=30)  # 30 px in 4 px patches
    with pytest.raises(ValueError, match="30x30 is not divisible by patch size 4x4"):
        validate_config(uneven)
    assert validate_config(uneven, check_size=False) is uneven
    swin = keras_vit.get_config("swin_tiny_patch2_window7_28", image_size=30)
    with pytest.raises(ValueError, match="Stage 0's 15x15 map cannot be halved"):
        validate_config(swin)
    assert validate_config(swin, check_size=False) is swin
    with pytest.raises(ValueError, match="dist_token_init_std=1e-06 initializes the distillation token"):
        validate_config(keras_vit.get_config("vit_nano_patch4_28", dist_token_init_std=1e-6), check_size=False)
    with pytest.raises(ValueError, match="dim=64 is not divisible by num_heads=5"):
        validate_config(keras_vit.get_config("swin_tiny_patch2_window7_28", num_heads=(5, 5)), check_size=False)
