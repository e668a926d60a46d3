"""Layer-wise learning-rate decay: the multipliers, the optimizer's steps, build_optimizer and saving."""

import keras
import numpy as np
import pytest

import keras_vit
from keras_vit.training import LayerDecayAdamW, build_optimizer, layer_decay_multipliers
from keras_vit.training.optimizer import AdamW
from tiny_training import TEST_JIT

TINY_VIT = dict(image_size=16, patch_size=4, dim=32, depth=2, num_heads=4, mlp_dim=64)


def test_layer_decay_scales_each_layers_step():
    model = keras_vit.build_vit(num_classes=5, **TINY_VIT)
    multipliers = layer_decay_multipliers(model, 0.5)
    assert multipliers["head/kernel"] == multipliers["norm/gamma"] == 1.0
    assert (multipliers["block_1/fc1/kernel"], multipliers["block_0/attn/qkv/bias"]) == (0.5, 0.25)
    assert multipliers["patch_encoder/cls_token"] == multipliers["patch_encoder/projection/kernel"] == 0.125
    assert set(multipliers) == {variable.path for variable in model.trainable_variables}
    # One variable per depth: every optimizer step below is an op per variable (and, on JAX, a compile).
    variables = [layer.weights[0] for layer in (model.patch_encoder, *model.blocks, model.head)]
    before = [keras.ops.convert_to_numpy(variable) for variable in variables]

    # Adam's first step moves every weight by lr * sign(gradient); here scaled by the layer's multiplier.
    adam = LayerDecayAdamW(multipliers, learning_rate=0.01, weight_decay=0.0, epsilon=1e-12)
    assert isinstance(adam, AdamW)  # keeps the package AdamW's tf.distribute clipping
    adam.apply([keras.ops.ones(variable.shape) for variable in variables], variables)
    for variable, old in zip(variables, before):
        step = old - keras.ops.convert_to_numpy(variable)
        np.testing.assert_allclose(step, 0.01 * multipliers[variable.path], rtol=1e-3, err_msg=variable.path)

    # With zero gradients only the decoupled weight decay acts: w -= w * weight_decay * lr * multiplier.
    decay = LayerDecayAdamW(multipliers, learning_rate=0.01, weight_decay=0.5)
    middle = [keras.ops.convert_to_numpy(variable) for variable in variables]
    decay.apply([keras.ops.zeros(variable.shape) for variable in variables], variables)
    for variable, old in zip(variables, middle):
        expected = old * (1 - 0.5 * 0.01 * multipliers[variable.path])
        np.testing.assert_allclose(keras.ops.convert_to_numpy(variable), expected, rtol=1e-6, err_msg=variable.path)


def test_layer_decay_refuses_bad_values_and_models():
    model = keras_vit.build_vit(num_classes=5, **TINY_VIT)
    for bad in (0, 1.5, -0.5, True, "0.75"):
        with pytest.raises(ValueError, match=r"layer_decay must be a number in \(0, 1\]"):
            layer_decay_multipliers(model, bad)
    cnn = keras_vit.build_resnet(num_classes=5, image_size=16, channels=3)
    with pytest.raises(ValueError, match=f"needs a ViT or DeiT \\(decay per block\\); {cnn.name!r} is a ResNet"):
        layer_decay_multipliers(cnn, 0.75)
    with pytest.raises(ValueError, match="multipliers must map variable paths to numbers >= 0"):
        LayerDecayAdamW({"head/kernel": -1.0})


def test_build_optimizer_with_multipliers_is_layer_decay_adamw():
    model = keras_vit.build_vit(num_classes=5, **TINY_VIT)
    plain = build_optimizer(1e-3, total_steps=10, warmup_steps=1, no_weight_decay=model.no_weight_decay())
    assert type(plain) is AdamW  # no layer decay: the plain optimizer, unchanged

    multipliers = layer_decay_multipliers(model, 0.5)
    optimizer = build_optimizer(
        1e-3, total_steps=10, warmup_steps=1, clipnorm=2.0, no_weight_decay=model.no_weight_decay(),
        multipliers=multipliers,
    )  # fmt: skip
    assert isinstance(optimizer, LayerDecayAdamW) and optimizer.multipliers == multipliers
    assert optimizer.global_clipnorm == 2.0 and optimizer.weight_decay == 0.05
    # The same weight-decay exclusions as the plain optimizer (biases, norms, tokens, positions).
    for variable in model.trainable_variables:
        assert optimizer._use_weight_decay(variable) == plain._use_weight_decay(variable), variable.path


def test_model_compiled_with_layer_decay_reloads_with_its_multipliers(tmp_path):
    model = keras_vit.build_vit(num_classes=3, **TINY_VIT)
    multipliers = layer_decay_multipliers(model, 0.5)
    optimizer = build_optimizer(1e-3, total_steps=10, warmup_steps=1, multipliers=multipliers)
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=TEST_JIT)  # fmt: skip
    images = np.random.default_rng(0).uniform(0, 1, (4, 16, 16, 3)).astype("float32")
    model.train_on_batch(images, np.array([0, 1, 2, 0]))
    model.save(tmp_path / "model.keras")

    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    assert type(reloaded.optimizer) is LayerDecayAdamW
    assert reloaded.optimizer.multipliers == multipliers
    assert reloaded.optimizer.get_config() == model.optimizer.get_config()
    assert int(reloaded.optimizer.iterations) == 1
    reloaded.train_on_batch(images, np.array([0, 1, 2, 0]))  # and it trains on
