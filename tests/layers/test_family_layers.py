"""The layers behind the ViT families: register tokens and `no_embed_class` in `PatchEncoder`, `AttentionPooling`
(MAP) and the MLP activations."""

import math

import keras
import numpy as np
import pytest
import torch
from keras import ops

from keras_vit.layers import AttentionPooling, PatchEncoder
from keras_vit.layers.activations import get_activation


def numpy_of(tensor):
    return ops.convert_to_numpy(tensor)


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "quick_gelu"])
def test_activations_are_torchs_and_timms(name):
    x = np.linspace(-6, 6, 1201).astype("float32")
    reference = {
        "gelu": lambda t: torch.nn.functional.gelu(t),
        "gelu_tanh": lambda t: torch.nn.functional.gelu(t, approximate="tanh"),
        "quick_gelu": lambda t: t * torch.sigmoid(1.702 * t),  # timm.layers.activations.quick_gelu
    }[name](torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(numpy_of(get_activation(name)(ops.convert_to_tensor(x))), reference, atol=2e-6)
    with pytest.raises(ValueError, match="activation must be one of 'gelu', 'gelu_tanh', 'quick_gelu'; got 'swish'"):
        get_activation("swish")


@pytest.mark.parametrize("no_embed_class", [True, False], ids=["no_embed_class", "prefix_positions"])
def test_register_tokens_follow_the_cls_token_with_or_without_positions(images, no_embed_class):
    encoder = PatchEncoder(32, 4, reg_tokens=2, no_embed_class=no_embed_class)
    tokens = numpy_of(encoder(images))
    cls, reg = numpy_of(encoder.cls_token)[0], numpy_of(encoder.reg_token)[0]
    table = numpy_of(encoder.position_embeddings)[0]
    patches = numpy_of(ops.reshape(encoder.projection(images), (3, 16, 32)))

    assert tokens.shape == (3, 19, 32) and encoder.num_prefix_tokens == 3
    assert table.shape == ((16 if no_embed_class else 19), 32)
    prefix_positions = np.zeros((3, 32), "float32") if no_embed_class else table[:3]
    np.testing.assert_allclose(tokens[:, 0], np.broadcast_to(cls[0] + prefix_positions[0], (3, 32)), atol=1e-6)
    np.testing.assert_allclose(tokens[:, 1:3], np.broadcast_to(reg + prefix_positions[1:3], (3, 2, 32)), atol=1e-6)
    np.testing.assert_allclose(tokens[:, 3:], patches + table[-16:], atol=1e-5)
    assert PatchEncoder.from_config(encoder.get_config()).get_config() == encoder.get_config()


def test_patch_encoder_switches_are_checked_and_bias_can_go():
    encoder = PatchEncoder(32, 4, use_bias=False)
    encoder.build((None, 8, 8, 3))
    assert [weight.name for weight in encoder.projection.weights] == ["kernel"]
    with pytest.raises(ValueError, match="reg_tokens=2 with a distillation token"):
        PatchEncoder(32, 4, reg_tokens=2, distillation_token=True)
    with pytest.raises(ValueError, match="no_embed_class=True leaves the prefix tokens out .* position_embedding='sincos2d'"):
        PatchEncoder(32, 4, no_embed_class=True, position_embedding="sincos2d")
    with pytest.raises(ValueError, match=r"reg_tokens must be an int >= 0 \(0: none\); got 1.5"):
        PatchEncoder(32, 4, reg_tokens=1.5)


def _numpy_map(pool, tokens):
    """Multi-head attention pooling written out in numpy: one latent query over the patch tokens."""
    w = {name: numpy_of(getattr(pool, name).kernel).astype("float64") for name in ("q", "kv", "proj", "fc1", "fc2")}
    b = {name: numpy_of(getattr(pool, name).bias).astype("float64") for name in w}
    x = tokens[:, pool.num_prefix_tokens:].astype("float64")
    heads, dim = pool.num_heads, x.shape[-1]
    q = (numpy_of(pool.latent).astype("float64")[0] @ w["q"] + b["q"]).reshape(1, heads, -1)
    k, v = np.split(x @ w["kv"] + b["kv"], 2, axis=-1)
    k, v = (t.reshape(len(x), -1, heads, dim // heads) for t in (k, v))
    scores = np.einsum("qhd,bkhd->bhqk", q, k) / math.sqrt(dim // heads)
    attention = np.exp(scores - scores.max(-1, keepdims=True))
    attention /= attention.sum(-1, keepdims=True)
    out = np.einsum("bhqk,bkhd->bqhd", attention, v).reshape(len(x), 1, dim) @ w["proj"] + b["proj"]
    normed = (out - out.mean(-1, keepdims=True)) / np.sqrt(out.var(-1, keepdims=True) + pool.layer_norm_epsilon)
    normed = normed * numpy_of(pool.norm.gamma) + numpy_of(pool.norm.beta)
    hidden = normed @ w["fc1"] + b["fc1"]
    hidden = 0.5 * hidden * (1 + np.vectorize(math.erf)(hidden / math.sqrt(2)))
    return (out + hidden @ w["fc2"] + b["fc2"])[:, 0]


def test_attention_pooling_is_one_latent_query_over_the_patch_tokens():
    tokens = np.random.default_rng(0).normal(size=(2, 2 + 9, 16)).astype("float32")
    pool = AttentionPooling(num_heads=4, mlp_dim=24, num_prefix_tokens=2)
    pool.build(tokens.shape)
    rng = np.random.default_rng(1)
    for variable in pool.weights:  # off the zero biases and unit scales
        variable.assign(rng.normal(0, 0.3, variable.shape).astype("float32"))

    pooled = numpy_of(pool(tokens))
    other_prefix = tokens.copy()
    other_prefix[:, :2] = 5.0

    assert pooled.shape == (2, 16) and pool.compute_output_shape((2, 11, 16)) == (2, 16)
    np.testing.assert_allclose(pooled, _numpy_map(pool, tokens), atol=1e-5)
    np.testing.assert_array_equal(numpy_of(pool(other_prefix)), pooled)  # prefix tokens are not read
    rebuilt = AttentionPooling.from_config(pool.get_config())
    assert rebuilt.get_config() == pool.get_config()
    with pytest.raises(ValueError, match="dim=16 is not divisible by num_heads=3"):
        AttentionPooling(num_heads=3, mlp_dim=8)(tokens)
    assert isinstance(keras.layers.deserialize(keras.layers.serialize(pool)), AttentionPooling)
