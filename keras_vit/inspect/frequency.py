"""Fourier analysis of feature maps ("How do Vision Transformers work?", Park & Kim, ICLR 2022).

Multi-head self-attention acts as a low-pass filter and convolution as a high-pass one: after
each attention block the high-frequency share of the feature maps drops. For every probed layer
this module gives the relative log amplitude of the 2-D Fourier transform along the diagonal
from frequency 0 to the highest one (pi on even grids, pi*(n-1)/n on odd ones), its value at that
highest frequency (the "delta log amplitude"), and the feature-map variance.
"""

import keras
import numpy as np

from keras_vit.inspect.attention import run_in_batches
from keras_vit.inspect.model_parts import check_images, check_layer_names
from keras_vit.models.vit import check_vision_transformer

# Added to the amplitude before the log, as Park & Kim do, so that empty frequencies stay finite.
AMPLITUDE_FLOOR = 1e-6


def log_amplitude_spectrum(feature_map):
    """`(B, H, W, C)` -> `(H, W)` mean over images and channels of `log(|FFT2| + 1e-6)`, 0 centred.

    Returns `(spectrum, frequencies_y, frequencies_x)`, the frequencies in radians per
    position, shifted like the spectrum so that index `H // 2` (and `W // 2`) is 0.
    """
    feature_map = np.asarray(feature_map, dtype="float64")
    if feature_map.ndim != 4:
        raise ValueError(f"A feature map must have shape (B, H, W, C); got {feature_map.shape}.")
    amplitude = np.abs(np.fft.fft2(feature_map, axes=(1, 2)))
    spectrum = np.fft.fftshift(np.log(amplitude + AMPLITUDE_FLOOR).mean(axis=(0, 3)))
    height, width = feature_map.shape[1:3]
    return spectrum, np.fft.fftshift(np.fft.fftfreq(height)) * 2 * np.pi, np.fft.fftshift(np.fft.fftfreq(width)) * 2 * np.pi


def relative_log_amplitude(feature_map):
    """Log amplitude along the half diagonal, minus its value at frequency 0.

    `(B, H, W, C)` with `H == W` -> `(frequencies, values)`, both `(H // 2 + 1,)` for even
    and `((H + 1) // 2,)` for odd `H`; `frequencies` in radians from 0 to the highest
    diagonal frequency.
    """
    spectrum, frequencies, _ = log_amplitude_spectrum(feature_map)
    size = spectrum.shape[0]
    if spectrum.shape[1] != size:
        raise ValueError(f"Frequency analysis needs square feature maps; got {spectrum.shape[0]}x{spectrum.shape[1]}.")
    diagonal = np.diagonal(spectrum)[size // 2 :]
    # On even grids the shifted spectrum puts frequency -pi first; it equals +pi, the end of the diagonal.
    if size % 2 == 0:
        diagonal = np.append(diagonal, spectrum[0, 0])
        frequencies = np.append(frequencies, np.pi)
    return np.abs(frequencies[size // 2 :]), diagonal - diagonal[0]


def feature_map_variance(feature_map):
    """Variance over the spatial positions, averaged over images and channels: `(B, H, W, C)` -> float."""
    return float(np.asarray(feature_map, dtype="float64").var(axis=(1, 2)).mean())


def default_layer_names(model):
    """The model's declared `feature_layers`, in depth order: a ViT's patch encoder and every block, a
    ResNet's block outputs."""
    layers = getattr(model, "feature_layers", None)
    if not layers:
        raise ValueError(
            f"Model {model.name!r} declares no feature_layers (it is not a keras_vit model); pass layer_names, "
            f"the layers to probe (any of: {', '.join(layer.name for layer in model.layers)})."
        )
    return [layer.name for layer in layers]


def feature_maps(model, images, layer_names, batch_size=32):
    """The outputs of the named layers as spatial maps `(B, H, W, C)`, one per name.

    Rank-4 outputs are taken as channels-last maps (CNNs); rank-3 token outputs `(B, T + N, C)`
    lose their `T` prefix tokens and are laid on the patch grid of the model's `PatchEncoder`.
    """
    images = check_images(model, images)
    check_layer_names(model, layer_names)
    probe = keras.Model(model.input, [model.get_layer(name).output for name in layer_names])
    outputs = run_in_batches(probe, images, batch_size)
    maps = []
    for name, output in zip(layer_names, outputs):
        if output.ndim == 3:
            encoder = check_vision_transformer(model, f"Laying the tokens of layer {name!r} on a grid").patch_encoder
            tokens = output[:, encoder.num_prefix_tokens :]
            output = tokens.reshape((len(tokens),) + encoder.grid_size + (tokens.shape[-1],))
        elif output.ndim != 4:
            raise ValueError(f"Layer {name!r} outputs shape {output.shape}; frequency analysis needs (B, H, W, C) "
                             "maps or (B, tokens, C) ViT tokens.")
        maps.append(output)
    return maps


def frequency_analysis(model, images, layer_names=None, batch_size=32):
    """Park & Kim's Fourier analysis and feature-map variance of any Keras model.

    Args:
        model: a functional Keras model (a ViT, a CNN, ...).
        images: `(B, H, W, C)` matching the model's input.
        layer_names: the layers whose outputs to probe, in depth order; by default the model's
            `feature_layers` (a ViT's patch encoder and every block, a ResNet's block outputs).

    Returns a dict: `layer_names`; `depth` `(L,)` normalized depth 0..1; `frequencies` and
    `relative_log_amplitude`, lists of `L` arrays (curves from frequency 0 to the highest);
    `delta_log_amplitude` `(L,)`, the last value of each curve; `variance` `(L,)`.
    """
    layer_names = list(default_layer_names(model) if layer_names is None else layer_names)
    maps = feature_maps(model, images, layer_names, batch_size)
    curves = [relative_log_amplitude(fmap) for fmap in maps]
    return {
        "layer_names": layer_names,
        "depth": np.linspace(0.0, 1.0, len(layer_names)),
        "frequencies": [frequencies for frequencies, _ in curves],
        "relative_log_amplitude": [values for _, values in curves],
        "delta_log_amplitude": np.array([values[-1] for _, values in curves]),
        "variance": np.array([feature_map_variance(fmap) for fmap in maps]),
    }
