"""Checking images, layer indices and layer names against a model, before an analysis runs."""

import numpy as np

from keras_vit.models.classifier import check_pixels


def check_images(model, images):
    """`images` as a float32 array `(B, H, W, C)` for `model`, checked by `keras_vit.check_pixels`: an error
    for another shape (or one that looks channels-first) or non-finite values; a warning for images that
    look scaled to [0, 1] when the model takes raw pixels (an analysis of them still runs, but shows what
    the model makes of nearly black images)."""
    return check_pixels(model, images, strict=False).astype("float32")


def check_layer_index(layer, num_layers):
    """`layer` as a non-negative index into `num_layers` layers (negative counts from the end)."""
    if not isinstance(layer, (int, np.integer)) or isinstance(layer, bool) or not -num_layers <= layer < num_layers:
        raise ValueError(f"Layer index {layer!r} is out of range for a model with {num_layers} blocks "
                         f"(valid: {-num_layers} .. {num_layers - 1}).")
    return int(layer) % num_layers


def check_layer_names(model, layer_names):
    """Raise unless `layer_names` is a non-empty list of names of the model's layers."""
    known = [layer.name for layer in model.layers]
    missing = [name for name in layer_names if name not in known]
    if missing or not layer_names:
        raise ValueError(
            f"Layer names {missing or list(layer_names)} are not in model {model.name!r}; its layers: {', '.join(known)}."
        )
    return list(layer_names)
