"""`keras_vit.list_configs(pattern)` and `keras-vit list`: wildcards, image sizes, parameter counts."""

import pytest

import keras_vit
from keras_vit import cli
from keras_vit.models import CONFIGS
from keras_vit.performance.params import parameter_count


def test_patterns_are_fnmatch_wildcards():
    assert keras_vit.list_configs("deit_*_patch16_224") == [
        "deit_base_distilled_patch16_224", "deit_base_patch16_224", "deit_small_distilled_patch16_224",
        "deit_small_patch16_224", "deit_tiny_distilled_patch16_224", "deit_tiny_patch16_224",
    ]  # fmt: skip
    assert keras_vit.list_configs() == sorted(CONFIGS) and keras_vit.list_configs("resnet*") == []


@pytest.mark.parametrize(
    "overrides",
    [{}, dict(distillation_token=True), dict(qk_norm=True, init_values=0.1, qkv_bias=False),
     dict(patch_embedding="conv_stem", stem_entry_width=8), dict(position_embedding="sincos2d", pooling="gap"),
     dict(class_token=False, pooling="gap", position_embedding="none", patch_embedding="linear"),
     dict(reg_tokens=4, no_embed_class=True, init_values=1e-5), dict(norm_pre=True, activation="quick_gelu"),
     dict(pooling="gap", fc_norm=True), dict(pooling="map", class_token=False)],
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
    with pytest.raises(SystemExit, match=r"^keras-vit list: No config matches 'convnext_\*'"):
        cli.main(["list", "convnext_*"])
