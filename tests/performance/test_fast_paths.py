"""The fast paths give the outputs (and gradients) of the plain ones in float32."""

import math

import keras
import numpy as np
import pytest
from keras import ops

import keras_vit
from keras_vit.layers.transformer_block import gelu


def test_gelu_is_the_exact_erf_formula():
    x = np.linspace(-8, 8, 4001).astype("float32")
    expected = 0.5 * x.astype("float64") * (1.0 + np.vectorize(math.erf)(x.astype("float64") / math.sqrt(2.0)))
    np.testing.assert_allclose(ops.convert_to_numpy(gelu(ops.convert_to_tensor(x))), expected, rtol=0, atol=2e-6)


@pytest.mark.parametrize("options", [{}, dict(qk_norm=True, init_values=0.1)], ids=["plain", "qknorm_layerscale"])
def test_query_tokens_computes_the_first_tokens_of_the_full_block(options):
    tokens = np.random.default_rng(0).normal(size=(2, 9, 16)).astype("float32")
    block = keras_vit.TransformerBlock(num_heads=2, mlp_dim=32, **options)
    full, full_weights = block(tokens, return_attention_scores=True)
    for count in (2, 9):
        np.testing.assert_allclose(
            ops.convert_to_numpy(block(tokens, query_tokens=count)), ops.convert_to_numpy(full)[:, :count], atol=1e-5
        )
        _, weights = block(tokens, return_attention_scores=True, query_tokens=count)
        np.testing.assert_allclose(
            ops.convert_to_numpy(weights), ops.convert_to_numpy(full_weights)[:, :, :count], atol=1e-6
        )
    with pytest.raises(ValueError, match=r"query_tokens must be an int in \[1, 9\].*got 10"):
        block(tokens, query_tokens=10)


def train_one_step(model, images, labels):
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(images, labels, batch_size=len(images), epochs=1, verbose=0)


@pytest.mark.parametrize(
    "build, overrides", [(keras_vit.build_vit, {}), (keras_vit.build_deit, dict(distillation_token=True))], ids=["vit", "deit"]
)
def test_fast_training_model_shares_the_weights_and_gives_the_same_outputs(build, overrides, tiny, images):
    model = build(num_classes=5, **tiny, **overrides)
    fast = keras_vit.performance.fast_training_model(model)
    assert fast is not model and all(a is b for a, b in zip(fast.weights, model.weights))
    np.testing.assert_allclose(ops.convert_to_numpy(fast(images)), ops.convert_to_numpy(model(images)), atol=1e-5)
    prefix_tokens = 2 if overrides else 1
    last_block = next(layer for layer in fast.get_config()["layers"] if layer["name"] == f"block_{tiny['depth'] - 1}")
    assert last_block["inbound_nodes"][0]["kwargs"] == {"query_tokens": prefix_tokens}


def test_fast_training_model_trains_the_model_as_plain_training_does(tiny, images):
    # A distilled DeiT: two prefix tokens and two heads reach the loss.
    labels = np.array([0, 1, 2])
    model = keras_vit.build_deit(num_classes=5, distillation_token=True, **tiny)
    start = model.get_weights()
    train_one_step(model, images, labels)
    plain = model.get_weights()
    model.set_weights(start)
    train_one_step(keras_vit.performance.fast_training_model(model), images, labels)  # trains `model`'s weights
    for fast_trained, plain_trained in zip(model.get_weights(), plain):
        np.testing.assert_allclose(fast_trained, plain_trained, atol=1e-5)
    assert any(not np.allclose(trained, before) for trained, before in zip(plain, start))


def test_fast_training_model_of_a_gap_model_is_the_model(tiny):
    model = keras_vit.build_vit(num_classes=5, pooling="gap", **tiny)
    assert keras_vit.performance.fast_training_model(model) is model


def test_fast_training_model_needs_a_keras_vit_model():
    inputs = keras.Input((4,))
    other = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match="fast_training_model needs a model with TransformerBlock layers"):
        keras_vit.performance.fast_training_model(other)
