"""The switches of DeiT III, DINOv2 (registers), CLIP, SigLIP and average pooling as parts of one `VisionTransformer`:
declared, in the graph in timm's order, trained through the same outputs, saved and reloaded."""

import keras
import numpy as np
import pytest
from keras import ops

import keras_vit
from keras_vit.layers import AttentionPooling, LayerNorm, TokenPooling

FAMILIES = {
    "deit3": dict(no_embed_class=True, init_values=1e-6),
    "dinov2_registers": dict(reg_tokens=3, no_embed_class=True, init_values=1e-5),
    "clip": dict(norm_pre=True, layer_norm_epsilon=1e-5, activation="quick_gelu"),
    "siglip": dict(class_token=False, pooling="map", activation="gelu_tanh"),
    "avg_fc_norm": dict(pooling="gap", fc_norm=True),
}


def _model(tiny, family, **extra):
    model = keras_vit.build_vit(num_classes=5, **tiny, **FAMILIES[family], **extra)
    rng = np.random.default_rng(0)  # every weight off its init (zero biases, unit scales, tiny tokens)
    for variable in model.weights:
        variable.assign(rng.normal(0.05, 0.2, variable.shape).astype(variable.dtype))
    return model


def test_each_switch_is_a_declared_part_in_the_graph(tiny):
    registers = keras_vit.build_vit(num_classes=5, **tiny, **FAMILIES["dinov2_registers"])
    assert registers.patch_encoder.num_prefix_tokens == 4 and registers.patch_encoder.num_position_prefix_tokens == 0
    assert registers.patch_encoder.reg_token.shape == (1, 3, 32)
    assert registers.patch_encoder.position_embeddings.shape == (1, 16, 32)
    assert registers.pool.num_prefix_tokens == 4

    clip = keras_vit.build_vit(num_classes=5, **tiny, **FAMILIES["clip"])
    assert isinstance(clip.norm_pre, LayerNorm) and not clip.patch_encoder.projection.use_bias
    assert [layer.name for layer in clip.layers][2:4] == ["patch_encoder", "norm_pre"]
    assert all(block.activation == "quick_gelu" for block in clip.blocks)

    siglip = keras_vit.build_vit(num_classes=5, **tiny, **FAMILIES["siglip"])
    assert isinstance(siglip.pool, AttentionPooling) and siglip.pool.pooling == "map"
    assert siglip.pool.latent.shape == (1, 1, 32) and siglip.pool.fc1.units == 64
    assert siglip.training_query_tokens is None  # the attention pool reads every patch token: no shortcut

    average = keras_vit.build_vit(num_classes=5, **tiny, **FAMILIES["avg_fc_norm"])
    assert average.norm is None and isinstance(average.fc_norm, LayerNorm) and isinstance(average.pool, TokenPooling)
    assert [layer.name for layer in average.layers][-4:] == ["pool", "fc_norm", "head_dropout", "head"]
    assert average.training_query_tokens is None


def _one_sgd_step(model, images, full_graph):
    """One SGD step on the model's own training path, or through its functional graph (every token through
    every block); returns the trained weights."""
    trained = keras.Model(model.inputs, model.outputs) if full_graph else model
    trained.compile(optimizer=keras.optimizers.SGD(0.5), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                    jit_compile=False)  # each op compiled once for all the tiny models, not a program per model
    trained.fit(images, np.array([0, 1, 2]), batch_size=len(images), epochs=1, verbose=0)
    return model.get_weights()


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_training_computes_the_outputs_and_steps_of_the_full_graph(tiny, family, pixels):
    """With its shortcut (the last block on the CLS token alone) where the pooling allows one."""
    model = _model(tiny, family)
    inference = ops.convert_to_numpy(model(pixels, training=False))
    training = ops.convert_to_numpy(model(pixels, training=True))
    np.testing.assert_allclose(training, inference, atol=1e-5)
    assert model.training_query_tokens == (None if FAMILIES[family].get("pooling") in ("gap", "map") else 1)
    if model.training_query_tokens is None:
        return  # training runs the functional graph itself: nothing else to compare
    start = model.get_weights()
    full = _one_sgd_step(model, pixels, full_graph=True)
    model.set_weights(start)
    own = _one_sgd_step(model, pixels, full_graph=False)
    for own_trained, full_trained in zip(own, full):
        np.testing.assert_allclose(own_trained, full_trained, atol=1e-5)
    assert all(not np.allclose(trained, before) for trained, before in zip(full, start) if before.size > 1)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_keras_file_rebuilds_the_family_with_its_outputs(tmp_path, tiny, family, pixels):
    model = _model(tiny, family, class_names=list("abcde"), input_normalization=(0.5, 0.25))
    config = model.get_config()
    model.save(tmp_path / "m.keras")

    loaded = keras.saving.load_model(tmp_path / "m.keras")

    assert config["config"] == {**vars(model.config), "image_size": 16}
    assert isinstance(loaded, keras_vit.VisionTransformer) and loaded.config == model.config
    assert len(loaded.weights) == len(model.weights)
    np.testing.assert_allclose(ops.convert_to_numpy(loaded(pixels)), ops.convert_to_numpy(model(pixels)), atol=1e-6)


def test_layer_groups_and_weight_decay_cover_the_new_parts(tiny):
    clip = keras_vit.build_vit(num_classes=5, **tiny, **FAMILIES["clip"], reg_tokens=2)
    siglip = keras_vit.build_vit(num_classes=5, **tiny, **FAMILIES["siglip"])
    average = keras_vit.build_vit(num_classes=5, **tiny, **FAMILIES["avg_fc_norm"])

    assert clip.layer_groups()[0] == [clip.patch_encoder, clip.norm_pre]
    assert siglip.layer_groups()[-1] == [siglip.norm, siglip.pool, siglip.head]
    assert average.layer_groups()[-1] == [average.fc_norm, average.head]
    assert any(variable is clip.patch_encoder.reg_token for variable in clip.no_weight_decay())
    grouped = {id(v) for group in siglip.layer_groups() for layer in group for v in layer.trainable_variables}
    assert grouped == {id(v) for v in siglip.trainable_variables}  # layer decay reaches every weight
