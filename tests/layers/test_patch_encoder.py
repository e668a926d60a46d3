import math

import keras
import numpy as np
import pytest
from keras import ops

from keras_vit.layers import PatchEncoder
from keras_vit.layers.position_embeddings import sincos_2d


def numpy_sincos_2d(grid_h, grid_w, dim, temperature=10_000.0):
    """big_vision's posemb_sincos_2d, written out entry by entry."""
    quarter = dim // 4
    table = np.zeros((grid_h * grid_w, dim))
    for row in range(grid_h):
        for col in range(grid_w):
            for i in range(quarter):
                omega = 1.0 / temperature ** (i / (quarter - 1))
                token = row * grid_w + col
                table[token, i] = math.sin(col * omega)
                table[token, quarter + i] = math.cos(col * omega)
                table[token, 2 * quarter + i] = math.sin(row * omega)
                table[token, 3 * quarter + i] = math.cos(row * omega)
    return table


def test_sincos2d_matches_independent_formula():
    np.testing.assert_allclose(sincos_2d((3, 5), 16), numpy_sincos_2d(3, 5, 16), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, tokens",
    [
        ({}, 1 + 16),
        ({"distillation_token": True}, 2 + 16),
        ({"class_token": False, "position_embedding": "none"}, 16),
        ({"position_embedding": "sincos2d"}, 1 + 16),
    ],
)
def test_output_shape(kwargs, tokens, images):
    layer = PatchEncoder(32, 4, **kwargs)
    out = layer(images)
    assert tuple(out.shape) == (3, tokens, 32) == layer.compute_output_shape(images.shape)
    assert layer.num_prefix_tokens == tokens - 16


def test_conv_and_linear_embeddings_agree_for_same_weights(images):
    conv = PatchEncoder(32, 4, patch_embedding="conv")
    linear = PatchEncoder(32, 4, patch_embedding="linear")
    conv.build(images.shape)
    linear.build(images.shape)
    kernel, bias = [ops.convert_to_numpy(w) for w in conv.projection.weights]
    assert kernel.shape == (4, 4, 3, 32)
    linear.projection.set_weights([kernel.reshape(4 * 4 * 3, 32), bias])
    linear.cls_token.assign(conv.cls_token)
    linear.position_embeddings.assign(conv.position_embeddings)
    np.testing.assert_allclose(
        ops.convert_to_numpy(conv(images)), ops.convert_to_numpy(linear(images)), atol=1e-5
    )


def test_sincos2d_is_fixed_and_added_to_patches_only(images):
    layer = PatchEncoder(32, 4, position_embedding="sincos2d")
    plain = PatchEncoder(32, 4, position_embedding="none")
    layer.build(images.shape)
    plain.build(images.shape)
    plain.projection.set_weights(layer.projection.get_weights())
    plain.cls_token.assign(layer.cls_token)
    assert not layer.position_embeddings.trainable
    diff = ops.convert_to_numpy(layer(images)) - ops.convert_to_numpy(plain(images))
    np.testing.assert_allclose(diff[:, 0], 0, atol=1e-6)
    np.testing.assert_allclose(diff[0, 1:], numpy_sincos_2d(4, 4, 32), atol=1e-5)


def test_learned_position_embeddings_init():
    layer = PatchEncoder(64, 2)
    layer.build((None, 32, 32, 3))
    table = ops.convert_to_numpy(layer.position_embeddings)
    assert table.shape == (1, 1 + 256, 64)
    assert abs(table.std() - 0.02) < 0.002


@pytest.mark.parametrize("std", [0.02, 1e-6])
def test_dist_token_init_std(std):
    """The distillation token starts truncated N(0, std) (kept within 2 std: about 0.88 std)."""
    layer = PatchEncoder(4096, 2, distillation_token=True, dist_token_init_std=std)
    layer.build((None, 8, 8, 3))
    token = ops.convert_to_numpy(layer.dist_token)
    assert 0.8 * std < token.std() < 0.95 * std
    assert np.abs(token).max() <= 2 * std * (1 + 1e-5)


def test_distillation_token_leaves_other_draws_unchanged():
    """Unseeded initializers draw their seeds from the global random state, so an encoder with a distillation
    token must draw as many, in the same order, as one without: else every weight made after it (the blocks')
    would start elsewhere for every model, and recorded figures would no longer reproduce."""

    def draws(extra_initializers=0, **kwargs):
        keras.utils.set_random_seed(7)
        for _ in range(extra_initializers):
            keras.initializers.TruncatedNormal()
        layer = PatchEncoder(16, 2, **kwargs)
        layer.build((None, 8, 8, 3))
        after = keras.initializers.RandomNormal()((64,))  # the next layer's weights, made after the encoder's
        return [ops.convert_to_numpy(w) for w in (layer.projection.kernel, layer.cls_token, after)]

    for plain, distilled in zip(draws(), draws(distillation_token=True)):
        np.testing.assert_array_equal(plain, distilled)
    # The comparison can fail: one more initializer made (as a distillation token's only for DeiTs would be)
    # moves the next layer's weights.
    assert not np.array_equal(draws()[-1], draws(extra_initializers=1)[-1])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dim": 0}, "dim must be a positive int"),
        ({"distillation_token": True, "dist_token_init_std": 0}, "dist_token_init_std must be a positive number; got 0"),
        ({"dist_token_init_std": 1e-6}, r"dist_token_init_std=1e-06 initializes the distillation token, but "
                                        "distillation_token is False"),
        ({"patch_embedding": "mlp"}, "patch_embedding must be one of 'conv', 'linear', 'conv_stem', 'resnetv2'; got 'mlp'"),
        ({"position_embedding": "rope"}, "position_embedding must be one of 'learned', 'sincos2d', 'none'"),
        ({"dim": 30, "position_embedding": "sincos2d"}, "divisible by 4; got dim=30"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PatchEncoder(**{"dim": 32, "patch_size": 4, **kwargs})


def test_indivisible_image(images):
    with pytest.raises(ValueError, match="16x16 is not divisible by patch size 5x5"):
        PatchEncoder(32, 5)(images)


def test_channel_mismatch_at_call_time(images):
    layer = PatchEncoder(32, 4)
    layer(images)
    with pytest.raises(ValueError, match=r"takes images \(B, H, W, C\) = \(B, 16, 16, 3\); got shape \(3, 16, 16, 1\)"):
        layer(images[..., :1])


@pytest.mark.parametrize("patch_size", [1, 4])
def test_channels_first_images_are_named_as_such(images, patch_size):
    """With patch 1 a (B, 3, 16, 16) batch used to pass as 3x16 images of 16 channels."""
    nchw = np.transpose(images, (0, 3, 1, 2))
    message = (r"got images of shape \(3, 3, 16, 16\), which looks channels-first \(B, C, H, W\): 3 channel\(s\) of "
               r"16x16 pixels\. keras_vit takes images channels-last, \(B, H, W, C\).*np\.transpose\(images, \(0, 2, 3, 1\)\)")
    with pytest.raises(ValueError, match=message):
        PatchEncoder(32, patch_size, patch_embedding="linear")(nchw)
    built = PatchEncoder(32, patch_size)
    built(images)
    with pytest.raises(ValueError, match=message):
        built(nchw)


def test_config_round_trip():
    layer = PatchEncoder(32, (2, 4), patch_embedding="linear", position_embedding="sincos2d",
                         distillation_token=True, dist_token_init_std=1e-6, dropout=0.1, name="enc")
    assert PatchEncoder.from_config(layer.get_config()).get_config() == layer.get_config()
