import keras
import numpy as np
import pytest
from keras import ops

import keras_vit

from keras_vit.layers import ConvStem, PatchEncoder
from keras_vit.layers.conv_stem import stem_widths


def numpy_stride2_conv(x, kernel):
    """3x3 stride-2 'same' convolution of `(B, H, W, C)` with even H, W: pad one row and column at the end."""
    padded = np.pad(x, ((0, 0), (0, 1), (0, 1), (0, 0)))
    out_h, out_w = x.shape[1] // 2, x.shape[2] // 2
    out = np.zeros((x.shape[0], out_h, out_w, kernel.shape[-1]))
    for di in range(3):
        for dj in range(3):
            window = padded[:, di : di + 2 * out_h : 2, dj : dj + 2 * out_w : 2, :]
            out += window @ kernel[di, dj]
    return out


def numpy_stride1_conv(x, kernel):
    """3x3 stride-1 'same' convolution of `(B, H, W, C)`: pad one row and column on each side."""
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    height, width = x.shape[1:3]
    return sum(padded[:, di : di + height, dj : dj + width, :] @ kernel[di, dj] for di in range(3) for dj in range(3))


def numpy_batchnorm_relu(x, norm):
    gamma, beta, mean, variance = [ops.convert_to_numpy(w) for w in (norm.gamma, norm.beta, norm.moving_mean, norm.moving_variance)]
    return np.maximum(gamma * (x - mean) / np.sqrt(variance + norm.epsilon) + beta, 0.0)


def test_widths_double_up_to_the_width():
    assert stem_widths(192, 16) == [24, 48, 96, 192]  # Xiao et al.'s ViTc-1GF stem
    assert stem_widths(64, 4) == [32, 64]
    assert stem_widths(32, (2, 2)) == [32]


@pytest.mark.parametrize(
    "width, patch_size, message",
    [
        (64, 6, "square power-of-two patch_size .* got patch_size=6"),
        (64, (4, 8), r"square power-of-two patch_size .* got patch_size=\(4, 8\)"),
        (64, 1, "square power-of-two patch_size .* got patch_size=1"),
        (20, 16, "dim=20 is not divisible by 8"),
    ],
)
def test_bad_patch_sizes_and_widths_are_named(width, patch_size, message):
    with pytest.raises(ValueError, match=message):
        ConvStem(width, patch_size)
    with pytest.raises(ValueError, match=message):
        PatchEncoder(width, patch_size, patch_embedding="conv_stem")


def test_inference_matches_numpy_convolutions_batchnorm_and_relu():
    images = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    stem = ConvStem(8, 4)
    out = ops.convert_to_numpy(stem(images, training=False))
    assert out.shape == (2, 2, 2, 8) == stem.compute_output_shape(images.shape)
    x = images
    for conv, norm in zip(stem.convs, stem.norms):
        x = numpy_batchnorm_relu(numpy_stride2_conv(x, ops.convert_to_numpy(conv.kernel)), norm)
    np.testing.assert_allclose(out, x, rtol=1e-4, atol=1e-5)


def test_an_entry_width_adds_a_full_resolution_convolution_first():
    images = np.random.default_rng(2).normal(size=(2, 8, 8, 1)).astype("float32")
    stem = ConvStem(8, 4, entry_width=5)
    out = ops.convert_to_numpy(stem(images, training=False))
    assert out.shape == (2, 2, 2, 8) == stem.compute_output_shape(images.shape)
    kernels = [tuple(conv.kernel.shape) for conv in stem.convs]
    assert kernels == [(3, 3, 1, 5), (3, 3, 5, 4), (3, 3, 4, 8)]  # entry (stride 1), then the stride-2 stages
    x = numpy_batchnorm_relu(numpy_stride1_conv(images, ops.convert_to_numpy(stem.convs[0].kernel)), stem.norms[0])
    for conv, norm in zip(stem.convs[1:], stem.norms[1:]):
        x = numpy_batchnorm_relu(numpy_stride2_conv(x, ops.convert_to_numpy(conv.kernel)), norm)
    np.testing.assert_allclose(out, x, rtol=1e-4, atol=1e-5)
    assert ConvStem.from_config(stem.get_config()).get_config() == stem.get_config()


@pytest.mark.parametrize("entry_width", [-1, 2.0, True])
def test_bad_entry_widths_are_named(entry_width):
    # Each error names the argument the caller passed: the layer's, or the encoder's and config's.
    with pytest.raises(ValueError, match=f"^entry_width must be an int >= 0 .* got {entry_width!r}"):
        ConvStem(8, 4, entry_width=entry_width)
    with pytest.raises(ValueError, match=f"^stem_entry_width must be an int >= 0 .* got {entry_width!r}"):
        PatchEncoder(32, 4, patch_embedding="conv_stem", stem_entry_width=entry_width)


def test_an_entry_width_without_a_conv_stem_is_an_error():
    with pytest.raises(ValueError, match="stem_entry_width=16 .* patch_embedding is 'conv'"):
        PatchEncoder(32, 4, stem_entry_width=16)
    with pytest.raises(ValueError, match="stem_entry_width=16 .* patch_embedding is 'linear'"):
        keras_vit.build_vit("vit_nano_patch4_28", num_classes=10, patch_embedding="linear", stem_entry_width=16)


def test_training_uses_batch_statistics_and_moves_the_averages_by_a_tenth():
    images = np.random.default_rng(1).normal(2.0, 1.0, size=(4, 4, 4, 1)).astype("float32")
    stem = ConvStem(4, 2)
    out = ops.convert_to_numpy(stem(images, training=True))
    conv = numpy_stride2_conv(images, ops.convert_to_numpy(stem.convs[0].kernel))
    batch_mean = conv.mean(axis=(0, 1, 2))
    normalized = (conv - batch_mean) / np.sqrt(conv.var(axis=(0, 1, 2)) + stem.norms[0].epsilon)
    np.testing.assert_allclose(out, np.maximum(normalized, 0.0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ops.convert_to_numpy(stem.norms[0].moving_mean), 0.1 * batch_mean, rtol=1e-4, atol=1e-6)


def test_patch_encoder_with_a_conv_stem_keeps_the_token_grid(images):
    layer = PatchEncoder(32, 4, patch_embedding="conv_stem")
    out = layer(images)
    assert tuple(out.shape) == (3, 1 + 16, 32) == layer.compute_output_shape(images.shape)
    assert layer.stem.widths == [16, 32]
    assert tuple(layer.projection.kernel.shape) == (1, 1, 32, 32)
    restored = PatchEncoder.from_config(layer.get_config())
    assert restored.get_config() == layer.get_config()


def test_a_vit_with_a_stem_entry_convolution_saves_and_reloads(tmp_path, images, tiny):
    model = keras_vit.build_vit(num_classes=4, **tiny, patch_embedding="conv_stem", stem_entry_width=8)
    encoder = model.get_layer("patch_encoder")
    assert encoder.stem_entry_width == encoder.stem.entry_width == 8
    path = str(tmp_path / "model.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert reloaded.get_layer("patch_encoder").stem.entry_width == 8
    expected = ops.convert_to_numpy(model(images))
    np.testing.assert_allclose(ops.convert_to_numpy(reloaded(images)), expected, atol=1e-6)
