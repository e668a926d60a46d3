import keras
import numpy as np
import pytest

from keras_vit import build_deit
from keras_vit.inspect import attention_model, attention_weights


def numpy_layer_norm(x, layer):
    gamma, beta = (keras.ops.convert_to_numpy(w) for w in (layer.gamma, layer.beta))
    mean = x.mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(x.var(-1, keepdims=True) + layer.epsilon) * gamma + beta


def numpy_attention(block, tokens):
    """softmax(Q K^T / sqrt(d)) of one block, from its own LayerNorm and qkv weights, in numpy."""
    attn = block.attn
    x = numpy_layer_norm(tokens.astype("float64"), block.norm1)
    qkv = x @ keras.ops.convert_to_numpy(attn.qkv.kernel) + keras.ops.convert_to_numpy(attn.qkv.bias)
    batch, num_tokens, _ = qkv.shape
    q, k, _ = np.moveaxis(qkv.reshape(batch, num_tokens, 3, attn.num_heads, attn.head_dim), 2, 0)
    if attn.qk_norm:
        q, k = numpy_layer_norm(q, attn.q_norm), numpy_layer_norm(k, attn.k_norm)
    scores = np.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(attn.head_dim)
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    return scores / scores.sum(-1, keepdims=True)


def test_shape_and_rows(vit, images):
    weights = attention_weights(vit, images, batch_size=2)  # 2 batches: 2 + 1 images
    assert weights.shape == (2, 3, 4, 18, 18)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("qk_norm", [False, True])
def test_weights_equal_numpy_softmax_of_qk(tiny, images, qk_norm):
    model = build_deit(num_classes=5, qk_norm=qk_norm, distillation_token=True, **tiny)
    weights = attention_weights(model, images)
    tokens = keras.ops.convert_to_numpy(model.patch_encoder(model.preprocessing(images)))
    for index in range(2):
        block = model.blocks[index]
        np.testing.assert_allclose(weights[index], numpy_attention(block, tokens), atol=2e-5)
        tokens = keras.ops.convert_to_numpy(block(tokens))


def test_extraction_model_keeps_the_forward_pass(vit, images):
    config_before = vit.to_json()
    logits_before = keras.ops.convert_to_numpy(vit(images))
    outputs = attention_model(vit)(images)
    assert len(outputs) == 3  # two blocks' weights, then the logits
    np.testing.assert_allclose(keras.ops.convert_to_numpy(outputs[-1]), logits_before, atol=1e-5)
    # The original model is untouched: same graph (fused attention, no extra outputs), same logits.
    assert vit.to_json() == config_before
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(vit(images)), logits_before)


def test_reloaded_model_gives_the_same_weights(vit, images, tmp_path):
    vit.save(tmp_path / "vit.keras")
    reloaded = keras.saving.load_model(tmp_path / "vit.keras")
    np.testing.assert_allclose(attention_weights(reloaded, images), attention_weights(vit, images), atol=1e-6)


def test_clear_errors(vit, cnn, images):
    with pytest.raises(ValueError, match="Attention inspection needs a keras_vit VisionTransformer .* got Functional 'cnn'"):
        attention_weights(cnn, images)
    with pytest.raises(ValueError, match=r"got \(3, 8, 8, 3\) \(model 'deit' takes \(B, 16, 16, 3\) images\)"):
        attention_weights(vit, images[:, :8, :8] * 255)
    with pytest.raises(ValueError, match=r"looks channels-first \(B, C, H, W\)"):
        attention_weights(vit, np.transpose(images * 255, (0, 3, 1, 2)))
    # Images scaled to [0, 1] still run, with a warning (what a model taking raw pixels sees of them).
    with pytest.warns(UserWarning, match=r"images have values in .*: they look scaled to \[0, 1\], but model 'deit'"):
        attention_weights(vit, images)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        attention_weights(vit, images, batch_size=0)
