import pytest

import keras_vit
from keras_vit.models.configs import CONFIGS, ViTConfig

# timm's parameter counts with 1000 classes.
TIMM_PARAMS = {
    "vit_tiny_patch16_224": 5_717_416,
    "vit_small_patch16_224": 22_050_664,
    "vit_base_patch16_224": 86_567_656,
    "vit_base_patch32_224": 88_224_232,
    "vit_large_patch16_224": 304_326_632,
}


def test_list_configs_is_the_table():
    names = keras_vit.list_configs()
    assert names == sorted(CONFIGS)
    for name in [*TIMM_PARAMS, "vit_small_patch32_224", "vit_tiny_patch4_32", "vit_tiny_patch4_28"]:
        assert name in names
    assert keras_vit.get_config("vit_tiny_patch4_28").channels == 1
    assert keras_vit.get_config("vit_tiny_patch4_32").image_size == 32


@pytest.mark.parametrize("name", sorted(TIMM_PARAMS))
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
