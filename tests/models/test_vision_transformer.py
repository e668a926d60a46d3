"""The model object: `VisionTransformer` carries its config, parts, preprocessing and class names."""

import inspect
import pathlib

import keras
import numpy as np
import pytest
from keras import ops

import keras_vit
from keras_vit.layers import LayerNorm, PatchEncoder, TransformerBlock
from keras_vit.models import ImageClassifier, VisionTransformer

LEGACY = pathlib.Path(__file__).resolve().parent / "legacy"
CLASSES = ["ant", "bee", "cat", "dog", "eel"]


def numpy_of(tensor):
    return ops.convert_to_numpy(tensor)


@pytest.mark.parametrize("build", [keras_vit.build_vit, keras_vit.build_deit])
def test_build_vit_and_build_deit_return_vision_transformers(build, tiny):
    model = build(num_classes=5, **tiny)
    assert isinstance(model, VisionTransformer) and isinstance(model, ImageClassifier)
    assert model.config == keras_vit.get_config(None, **tiny)
    assert model.num_classes == 5 and model.include_top


def test_the_parts_are_attributes_in_call_order(tiny):
    vit = keras_vit.build_vit(num_classes=5, **tiny)
    assert isinstance(vit.patch_encoder, PatchEncoder) and isinstance(vit.norm, LayerNorm)
    assert all(isinstance(block, TransformerBlock) for block in vit.blocks)
    assert [block.name for block in vit.blocks] == ["block_0", "block_1"]
    assert vit.head.units == 5 and vit.head_dist is None and vit.heads == [vit.head]
    assert vit.feature_layers == [vit.patch_encoder, *vit.blocks]

    deit = keras_vit.build_deit(num_classes=5, distillation_token=True, **tiny)
    assert deit.config.distillation_token and deit.patch_encoder.num_prefix_tokens == 2
    assert deit.heads == [deit.head, deit.head_dist] and deit.pool_dist.pooling == "distillation"
    assert len(deit.head_outputs(np.zeros((1, 16, 16, 3)))) == 2


def test_a_model_carries_its_table_name_only_while_its_config_is_that_row():
    assert keras_vit.build_vit("vit_nano_patch4_28", num_classes=10).name == "vit_nano_patch4_28"
    # Regularization does not change what the model is.
    assert keras_vit.build_vit("vit_nano_patch4_28", num_classes=10, drop_path_rate=0.1).name == "vit_nano_patch4_28"
    four_blocks = keras_vit.build_vit("vit_nano_patch4_28", num_classes=10, depth=4)
    assert four_blocks.name == "vit" and four_blocks.config.depth == 4
    assert keras_vit.build_deit("deit_nano_distilled_patch4_28", num_classes=10, image_size=32).name == "deit"


def test_uint8_pixels_give_the_outputs_of_the_same_pixels_as_float(tiny, pixels):
    model = keras_vit.build_vit(num_classes=5, input_normalization=((0.4, 0.5, 0.6), (0.2, 0.25, 0.3)), **tiny)
    np.testing.assert_array_equal(numpy_of(model(pixels)), numpy_of(model(pixels.astype("float32"))))
    np.testing.assert_array_equal(model.predict(pixels, verbose=0), model.predict(pixels.astype("float32"), verbose=0))


@pytest.mark.parametrize("normalization", [((0.5,), (0.5,)), ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
def test_the_model_normalizes_raw_pixels_itself(tiny, pixels, normalization):
    """A model with `input_normalization=(mean, std)` computes on `(x / 255 - mean) / std`."""
    model = keras_vit.build_vit(num_classes=5, input_normalization=normalization, **tiny)
    plain = keras_vit.build_vit(num_classes=5, **tiny)  # preprocessing x / 255 only
    plain.set_weights(model.get_weights())
    mean, std = (np.array(values, "float32") for values in normalization)
    normalized = (pixels / 255.0 - mean) / std
    np.testing.assert_allclose(numpy_of(model(pixels)), numpy_of(plain(normalized * 255.0)), atol=2e-5)
    assert model.input_normalization == tuple(tuple(v) for v in normalization)


def test_class_names_are_checked_and_settable(tiny):
    model = keras_vit.build_vit(num_classes=5, class_names=CLASSES, **tiny)
    assert model.class_names == CLASSES
    with pytest.raises(ValueError, match="class_names has 2 names but the model has 5 classes"):
        model.class_names = ["a", "b"]
    with pytest.raises(ValueError, match="class_names must be a list of distinct strings"):
        keras_vit.build_vit(num_classes=2, class_names=["a", "a"], **tiny)
    model.class_names = None
    assert model.class_names is None


def test_get_config_mirrors_the_constructor(tiny):
    model = keras_vit.build_deit(
        num_classes=5, distillation_token=True, class_names=CLASSES, input_normalization=(0.5, 0.5), **tiny
    )
    config = model.get_config()
    parameters = set(inspect.signature(VisionTransformer.__init__).parameters) - {"self", "kwargs"}
    assert set(config) == parameters | {"trainable"}
    rebuilt = VisionTransformer.from_config(config)
    assert (rebuilt.config, rebuilt.class_names, rebuilt.input_normalization, rebuilt.name) == (
        model.config, CLASSES, ((0.5,), (0.5,)), model.name
    )


def test_a_keras_file_keeps_config_class_names_preprocessing_and_outputs(tmp_path, tiny, pixels):
    model = keras_vit.build_vit(
        num_classes=5, class_names=CLASSES, input_normalization=((0.5,), (0.25,)), init_values=0.1, **tiny
    )
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(loaded, VisionTransformer)
    assert (loaded.config, loaded.class_names, loaded.input_normalization) == (
        model.config, CLASSES, ((0.5,), (0.25,))
    )
    np.testing.assert_allclose(numpy_of(loaded(pixels)), numpy_of(model(pixels)), atol=1e-6)
    assert len(loaded.weights) == len(model.weights)  # each weight once


def test_no_weight_decay_lists_biases_norms_positions_and_tokens(tiny):
    model = keras_vit.build_deit(num_classes=3, distillation_token=True, init_values=0.1, **tiny)
    names = sorted({variable.name for variable in model.no_weight_decay()})
    assert names == ["beta", "bias", "cls_token", "dist_token", "gamma", "position_embeddings"]
    decayed = [variable for variable in model.trainable_variables if all(variable is not v for v in model.no_weight_decay())]
    assert {variable.name for variable in decayed} == {"kernel"}


def test_layer_groups_run_from_the_patch_encoder_up_to_the_heads(tiny):
    model = keras_vit.build_deit(num_classes=3, distillation_token=True, **tiny)
    groups = model.layer_groups()
    assert groups == [[model.patch_encoder], [model.blocks[0]], [model.blocks[1]], [model.norm, model.head, model.head_dist]]


@pytest.mark.parametrize("name", ["vit", "deit", "gap_conv_stem"])
def test_keras_files_of_the_previous_release_load_with_the_same_outputs(name):
    """A 0.1 model took [0, 1] images; upgraded, it takes raw pixels and gives what the old model gave on x / 255
    (and, given the normalization it was trained with, on (x / 255 - 0.5) / 0.5)."""
    recorded = np.load(LEGACY / "outputs_v0.1.0.npz")
    model = keras_vit.load_model(LEGACY / f"{name}_v0.1.0.keras")
    assert isinstance(model, VisionTransformer)
    np.testing.assert_allclose(numpy_of(model(recorded["pixels"])), recorded[name], atol=1e-5)
    normalized = keras_vit.load_model(LEGACY / f"{name}_v0.1.0.keras", input_normalization=(0.5, 0.5))
    np.testing.assert_allclose(numpy_of(normalized(recorded["pixels"])), recorded[f"{name}_normalized"], atol=1e-5)


def test_an_upgraded_legacy_model_saves_and_reloads_as_a_vision_transformer(tmp_path):
    recorded = np.load(LEGACY / "outputs_v0.1.0.npz")
    keras_vit.load_model(LEGACY / "deit_v0.1.0.keras").save(tmp_path / "deit.keras")
    reloaded = keras_vit.load_model(tmp_path / "deit.keras")
    assert isinstance(reloaded, VisionTransformer) and reloaded.head_dist is not None
    np.testing.assert_allclose(numpy_of(reloaded(recorded["pixels"])), recorded["deit"], atol=1e-5)


def test_a_legacy_resnet_comes_back_as_a_resnet_with_the_same_outputs():
    recorded = np.load(LEGACY / "outputs_v0.1.0.npz")
    model = keras_vit.load_model(LEGACY / "resnet_v0.1.0.keras")
    assert isinstance(model, keras_vit.ResNet) and (model.widths, model.blocks_per_stage) == ((8, 16), 1)
    np.testing.assert_allclose(numpy_of(model(recorded["pixels"])), recorded["resnet"], atol=1e-5)


def test_any_other_keras_model_loads_unchanged(tmp_path):
    inputs = keras.Input((4,))
    keras.Model(inputs, keras.layers.Dense(2, name="dense")(inputs), name="other").save(tmp_path / "other.keras")
    model = keras_vit.load_model(tmp_path / "other.keras")
    assert model.name == "other" and [layer.name for layer in model.layers][1:] == ["dense"]


def test_the_resnet_is_a_classifier_of_the_same_convention(tmp_path, pixels):
    model = keras_vit.build_resnet(num_classes=5, image_size=16, widths=(4, 8), blocks_per_stage=1, class_names=CLASSES)
    assert [layer.name for layer in model.feature_layers] == ["stage0_block0_out", "stage1_block0_out"]
    model.save(tmp_path / "cnn.keras")
    loaded = keras.saving.load_model(tmp_path / "cnn.keras")
    assert type(loaded) is type(model) and loaded.class_names == CLASSES and loaded.widths == (4, 8)
    np.testing.assert_allclose(numpy_of(loaded(pixels)), numpy_of(model(pixels)), atol=1e-6)
    with pytest.raises(ValueError, match="needs a ViT or DeiT"):
        model.layer_groups()
