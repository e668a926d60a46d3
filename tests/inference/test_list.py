"""`keras_vit.list_configs(pattern)` and `keras-vit list`: wildcards, image sizes, parameter counts."""

import pytest

import keras_vit
from keras_vit import cli
from keras_vit.models import CONFIGS
from keras_vit.performance.params import parameter_count

TIMM_PARAMS = {  # timm's counts at 1000 classes
    "vit_tiny_patch16_224": 5_717_416,
    "vit_small_patch16_224": 22_050_664,
    "vit_base_patch16_224": 86_567_656,
    "vit_large_patch16_224": 304_326_632,
    "deit_base_distilled_patch16_224": 87_338_192,
}


def test_patterns_are_fnmatch_wildcards():
    assert keras_vit.list_configs("vit_*_patch16*") == [
        "vit_base_patch16_224", "vit_large_patch16_224", "vit_small_patch16_224", "vit_tiny_patch16_224"
    ]  # fmt: skip
    assert keras_vit.list_configs() == sorted(CONFIGS) and keras_vit.list_configs("resnet*") == []


@pytest.mark.parametrize("name", sorted(TIMM_PARAMS))
def test_parameter_count_of_a_config_is_timms(name):
    assert parameter_count(name) == TIMM_PARAMS[name]


@pytest.mark.parametrize(
    "overrides",
    [{}, dict(distillation_token=True), dict(qk_norm=True, init_values=0.1, qkv_bias=False),
     dict(patch_embedding="conv_stem", stem_entry_width=8), dict(position_embedding="sincos2d", pooling="gap"),
     dict(class_token=False, pooling="gap", position_embedding="none", patch_embedding="linear")],
)  # fmt: skip
def test_parameter_count_is_what_the_built_model_counts(tiny, overrides):
    config = keras_vit.get_config(None, **tiny, **overrides)
    for num_classes in (7, None):
        model = keras_vit.build_vit(num_classes=num_classes, include_top=num_classes is not None, **tiny, **overrides)
        assert parameter_count(config, num_classes) == model.count_params()


def test_cli_lists_the_matching_configs(capsys):
    assert cli.main(["list", "deit_*_distilled_patch4_*"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "image", "patch", "dim", "depth", "heads", "params"]
    assert [line.split()[0] for line in lines[1:]] == ["deit_nano_distilled_patch4_28", "deit_tiny_distilled_patch4_28",
                                                       "deit_tiny_distilled_patch4_32"]  # fmt: skip
    nano = lines[1].split()
    assert nano[1:6] == ["28", "4", "64", "6", "4"]
    assert int(nano[6].replace(",", "")) == keras_vit.build_deit("deit_nano_distilled_patch4_28", num_classes=1000).count_params()
    with pytest.raises(ValueError, match=r"No config matches 'convnext_\*'"):
        cli.main(["list", "convnext_*"])
