"""The fast paths give the outputs (and gradients) of the plain ones in float32."""

import math

import keras
import numpy as np
import pytest
from keras import ops

import keras_vit
from keras_vit.layers.activations import gelu


def test_gelu_is_the_exact_erf_formula():
    x = np.linspace(-8, 8, 4001).astype("float32")
    expected = 0.5 * x.astype("float64") * (1.0 + np.vectorize(math.erf)(x.astype("float64") / math.sqrt(2.0)))
    np.testing.assert_allclose(ops.convert_to_numpy(gelu(ops.convert_to_tensor(x))), expected, rtol=0, atol=2e-6)


@pytest.mark.parametrize(
    "options", [{}, dict(qk_norm=True, init_values=0.1, qkv_bias=False)], ids=["plain", "qknorm_layerscale_nobias"]
)
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


def one_sgd_step(model, images, labels, full_graph):
    """One SGD step of `model` on its default training path, or with every token through the last block."""
    if full_graph:  # train the same layers through the functional graph, bypassing the shortcut
        model = keras.Model(model.inputs, model.outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(images, labels, batch_size=len(images), epochs=1, verbose=0)


@pytest.mark.parametrize("overrides", [{}, dict(distillation_token=True)], ids=["vit", "deit"])
def test_training_computes_the_last_block_for_the_prefix_tokens_only_with_the_same_outputs(overrides, tiny, pixels):
    model = keras_vit.build_vit(num_classes=5, **tiny, **overrides)
    assert model.training_query_tokens == (2 if overrides else 1)
    graph = keras.Model(model.inputs, model.outputs)  # the same layers, without the shortcut
    np.testing.assert_allclose(
        ops.convert_to_numpy(model(pixels, training=True)), ops.convert_to_numpy(graph(pixels, training=True)), atol=1e-5
    )
    # The shortcut is taken: the last block then sees `training_query_tokens` queries.
    seen = []
    last = model.blocks[-1]
    original_call = last.call
    last.call = lambda x, *args, query_tokens=None, **kwargs: seen.append(query_tokens) or original_call(
        x, *args, query_tokens=query_tokens, **kwargs
    )
    model(pixels, training=True)
    model(pixels, training=False)
    assert seen == [model.training_query_tokens, None]


def test_training_through_the_shortcut_trains_the_model_as_the_full_graph_does(tiny, pixels):
    # A distilled DeiT: two prefix tokens and two heads reach the loss.
    labels = np.array([0, 1, 2])
    model = keras_vit.build_deit(num_classes=5, distillation_token=True, **tiny)
    start = model.get_weights()
    one_sgd_step(model, pixels, labels, full_graph=True)
    full = model.get_weights()
    model.set_weights(start)
    one_sgd_step(model, pixels, labels, full_graph=False)
    for shortcut_trained, full_trained in zip(model.get_weights(), full):
        np.testing.assert_allclose(shortcut_trained, full_trained, atol=1e-5)
    assert any(not np.allclose(trained, before) for trained, before in zip(full, start))


def test_average_pooling_reads_every_token_so_it_takes_no_shortcut(tiny):
    assert keras_vit.build_vit(num_classes=5, pooling="gap", **tiny).training_query_tokens is None
