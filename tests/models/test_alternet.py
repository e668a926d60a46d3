"""AlterNet: a ResNet whose stages end in self-attention, a classifier of the package's convention."""

import keras
import numpy as np
import pytest

import keras_vit
from keras_vit import AlterNet, build_alternet
from keras_vit.inspect import frequency_analysis

CLASSES = ["a", "b", "c", "d", "e"]


def numpy_of(tensor):
    return keras.ops.convert_to_numpy(tensor)


@pytest.fixture
def alternet():
    return build_alternet(num_classes=5, image_size=16, widths=(4, 8), num_heads=(1, 2), class_names=CLASSES)


def test_the_last_block_of_each_stage_attends_over_the_stage_map(alternet, pixels):
    assert numpy_of(alternet(pixels)).shape == (3, 5)
    assert [layer.name for layer in alternet.feature_layers] == [
        "stage0_block0_out", "stage0_block1_out", "stage1_block0_out", "stage1_block1_out"
    ]  # fmt: skip
    assert [block.name for block in alternet.attention_blocks] == ["stage0_block1_attention", "stage1_block1_attention"]
    assert [block.num_heads for block in alternet.attention_blocks] == [1, 2]
    assert [block.mlp_dim for block in alternet.attention_blocks] == [8, 16]  # mlp_ratio 2 times the stage width
    # The maps keep their shape through attention: 16x16 in the first stage, 8x8 after the stride-2 block.
    assert [tuple(layer.output.shape[1:]) for layer in alternet.feature_layers] == [
        (16, 16, 4), (16, 16, 4), (8, 8, 8), (8, 8, 8)
    ]  # fmt: skip
    # Attention mixes positions: changing one corner pixel moves the logits through the global attention path.
    changed = pixels.copy()
    changed[:, 0, 0] = 255 - changed[:, 0, 0]
    assert not np.allclose(numpy_of(alternet(changed)), numpy_of(alternet(pixels)))


def test_by_default_the_first_stage_stays_convolutional_as_in_the_paper():
    model = build_alternet(num_classes=10, image_size=28, channels=1, widths=(4, 8, 16))
    assert model.num_heads == (0, 2, 4)
    assert [(block.name, block.num_heads) for block in model.attention_blocks] == [
        ("stage1_block1_attention", 2), ("stage2_block1_attention", 4)
    ]  # fmt: skip
    tokens = [layer.output.shape[1] for layer in model.layers if layer.name.endswith("_tokens")]
    assert tokens == [14 * 14, 7 * 7]


def test_a_stage_with_zero_heads_stays_convolutional():
    model = build_alternet(num_classes=5, image_size=16, widths=(4, 8), num_heads=(0, 2))
    assert [block.name for block in model.attention_blocks] == ["stage1_block1_attention"]
    names = [layer.name for layer in model.layers]
    assert "stage0_block1_conv1" in names and "stage1_block1_conv1" not in names
    convolutional = keras_vit.build_resnet(num_classes=5, image_size=16, widths=(4, 8))
    assert model.count_params() != convolutional.count_params()


def test_the_config_mirrors_the_constructor_and_the_file_round_trips(alternet, pixels, tmp_path):
    config = alternet.get_config()
    assert {key: config[key] for key in ("widths", "blocks_per_stage", "num_heads", "mlp_ratio", "image_size")} == dict(
        widths=(4, 8), blocks_per_stage=2, num_heads=(1, 2), mlp_ratio=2, image_size=(16, 16)
    )
    rebuilt = AlterNet(**config)
    assert rebuilt.count_params() == alternet.count_params() and rebuilt.class_names == CLASSES
    alternet.save(tmp_path / "alternet.keras")
    loaded = keras_vit.load_model(tmp_path / "alternet.keras")
    assert type(loaded) is AlterNet and loaded.num_heads == (1, 2) and loaded.class_names == CLASSES
    np.testing.assert_allclose(numpy_of(loaded(pixels)), numpy_of(alternet(pixels)), atol=1e-5)


def test_the_fourier_analysis_probes_every_block(alternet, pixels):
    analysis = frequency_analysis(alternet, pixels)
    assert analysis["layer_names"] == [layer.name for layer in alternet.feature_layers]
    assert [len(curve) for curve in analysis["relative_log_amplitude"]] == [9, 9, 5, 5]
    assert np.all(np.isfinite(analysis["delta_log_amplitude"])) and np.all(analysis["variance"] > 0)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"num_heads must give one int >= 0 per stage \(2 stages, widths \(4, 8\)"):
        build_alternet(num_classes=5, widths=(4, 8), num_heads=(1, 2, 4))
    with pytest.raises(ValueError, match="dim=4 is not divisible by num_heads=3"):
        build_alternet(num_classes=5, widths=(4, 8), num_heads=(3, 2))
    with pytest.raises(ValueError, match="blocks_per_stage=1: a stage ending in attention needs at least one"):
        build_alternet(num_classes=5, widths=(4, 8), num_heads=(1, 2), blocks_per_stage=1)
    with pytest.raises(ValueError, match="widths must be a non-empty sequence of positive ints"):
        build_alternet(num_classes=5, widths=(), num_heads=())
    with pytest.raises(ValueError, match="Layer-wise learning-rate decay needs a ViT or DeiT"):
        build_alternet(num_classes=5, widths=(4,), num_heads=(1,)).layer_groups()


def test_batch_norm_statistics_follow_a_short_run(alternet):
    """Momentum 0.9 (PyTorch's 0.1) in the ResNet and AlterNet: with Keras' 0.99 the moving statistics lag the
    weights for hundreds of steps: a ResNet trained 6 epochs of 85 steps on the embedded subset scored 10% to 33%
    in inference mode over its first four epochs, while it trained at 64% to 91%."""
    resnet = keras_vit.build_resnet(num_classes=5, image_size=16, widths=(4, 8))
    for model in (resnet, alternet):
        norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
        assert norms and {norm.momentum for norm in norms} == {0.9}
