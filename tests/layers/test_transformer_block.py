import numpy as np
import pytest
from keras import ops

from keras_vit.layers import DropPath, LayerScale, MultiHeadSelfAttention, TransformerBlock


@pytest.fixture
def tokens():
    return np.random.default_rng(1).normal(size=(2, 5, 16)).astype("float32")


def test_shapes_and_parameter_count(tokens):
    block = TransformerBlock(num_heads=4, mlp_dim=32)
    assert block(tokens).shape == tokens.shape
    dim = 16
    expected = 2 * 2 * dim + (dim * 3 * dim + 3 * dim) + (dim * dim + dim) + (dim * 32 + 32) + (32 * dim + dim)
    assert block.count_params() == expected
    # Per-head width is dim // num_heads: the qkv projection is dim -> 3 * dim, not 3 * heads * dim.
    assert tuple(block.attn.qkv.kernel.shape) == (16, 48)


def test_attention_weights_rows_sum_to_one_and_match_fast_path(tokens):
    block = TransformerBlock(num_heads=4, mlp_dim=32)
    fast = ops.convert_to_numpy(block(tokens))
    out, weights = block(tokens, return_attention_scores=True)
    weights = ops.convert_to_numpy(weights)
    assert weights.shape == (2, 4, 5, 5)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(out), fast, atol=1e-5)


def test_attention_weights_and_output_match_numpy(tokens):
    attn = MultiHeadSelfAttention(num_heads=2)
    _, weights = attn(tokens, return_attention_scores=True)
    fast = attn(tokens)
    kernel, bias = [ops.convert_to_numpy(w) for w in attn.qkv.weights]
    qkv = (tokens @ kernel + bias).reshape(2, 5, 3, 2, 8)  # timm's layout: (q, k, v) x heads x head_dim
    q, k, v = (qkv[:, :, index].transpose(0, 2, 1, 3) for index in range(3))  # each (B, heads, N, head_dim)
    logits = q @ k.transpose(0, 1, 3, 2) / np.sqrt(8)
    expected = np.exp(logits - logits.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    np.testing.assert_allclose(ops.convert_to_numpy(weights), expected, atol=1e-5)
    proj_kernel, proj_bias = [ops.convert_to_numpy(w) for w in attn.proj.weights]
    heads = (expected @ v).transpose(0, 2, 1, 3).reshape(2, 5, 16)
    np.testing.assert_allclose(ops.convert_to_numpy(fast), heads @ proj_kernel + proj_bias, atol=1e-5)


@pytest.mark.parametrize("option", [{"init_values": 0.1}, {"qk_norm": True}])
def test_layerscale_and_qk_norm_change_the_output(tokens, option):
    plain = TransformerBlock(num_heads=4, mlp_dim=32)
    varied = TransformerBlock(num_heads=4, mlp_dim=32, **option)
    plain.build(tokens.shape)
    varied.build(tokens.shape)
    for name in ("norm1", "norm2", "fc1", "fc2"):
        getattr(varied, name).set_weights(getattr(plain, name).get_weights())
    varied.attn.qkv.set_weights(plain.attn.qkv.get_weights())
    varied.attn.proj.set_weights(plain.attn.proj.get_weights())
    difference = np.abs(ops.convert_to_numpy(plain(tokens)) - ops.convert_to_numpy(varied(tokens))).max()
    assert difference > 1e-3
    extra = {"init_values": 2 * 16, "qk_norm": 2 * 2 * 4}[next(iter(option))]
    assert varied.count_params() == plain.count_params() + extra


def test_qkv_bias_off_removes_bias(tokens):
    block = TransformerBlock(num_heads=4, mlp_dim=32, qkv_bias=False)
    block(tokens)
    assert len(block.attn.qkv.weights) == 1


def test_drop_path_is_identity_at_inference_and_drops_whole_samples_in_training():
    x = np.ones((64, 3, 4), "float32")
    layer = DropPath(0.5, seed=1)
    np.testing.assert_array_equal(ops.convert_to_numpy(layer(x, training=False)), x)
    out = ops.convert_to_numpy(layer(x, training=True))
    per_sample = out.reshape(64, -1)
    # Each sample is either all zero or all 1 / keep_prob: whole samples are dropped.
    assert set(np.unique(per_sample)) <= {0.0, 2.0}
    assert np.all(per_sample.min(1) == per_sample.max(1))
    dropped = int((per_sample[:, 0] == 0).sum())
    assert 12 < dropped < 52


def test_block_drop_path_only_in_training(tokens):
    block = TransformerBlock(num_heads=4, mlp_dim=32, drop_path=0.5)
    np.testing.assert_allclose(
        ops.convert_to_numpy(block(tokens)), ops.convert_to_numpy(block(tokens, training=False)), atol=0
    )
    assert not np.allclose(ops.convert_to_numpy(block(tokens)), ops.convert_to_numpy(block(tokens, training=True)))


def test_layerscale_scales_channels():
    layer = LayerScale(0.5)
    np.testing.assert_allclose(ops.convert_to_numpy(layer(np.ones((1, 2, 3), "float32"))), 0.5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_heads": 0}, "num_heads must be a positive int"),
        ({"mlp_dim": -1}, "mlp_dim must be a positive int"),
        ({"dropout": 1.5}, r"dropout must be a number in \[0, 1\)"),
        ({"drop_path": -0.1}, "drop_path must be"),
        ({"init_values": 0}, "init_values must be a positive number"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TransformerBlock(**{"num_heads": 4, "mlp_dim": 32, **kwargs})


def test_dim_not_divisible_by_heads(tokens):
    with pytest.raises(ValueError, match="dim=16 is not divisible by num_heads=3"):
        TransformerBlock(num_heads=3, mlp_dim=32)(tokens)


def test_wrong_rank():
    with pytest.raises(ValueError, match="rank 3"):
        TransformerBlock(num_heads=4, mlp_dim=32)(np.zeros((2, 16), "float32"))


@pytest.mark.parametrize(
    "layer",
    [
        TransformerBlock(4, 32, dropout=0.1, attention_dropout=0.2, drop_path=0.3, init_values=1e-5,
                         qkv_bias=False, qk_norm=True, layer_norm_epsilon=1e-5, name="b"),
        MultiHeadSelfAttention(2, qkv_bias=False, qk_norm=True, attention_dropout=0.1, dropout=0.2),
        DropPath(0.2, seed=3),
        LayerScale(1e-4),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_config_round_trip(layer):
    assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()
