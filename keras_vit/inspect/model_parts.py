"""Checking images, layer indices and layer names against a model, before an analysis runs."""

import numpy as np


def check_images(model, images):
    """`images` as a float32 array `(B, H, W, C)` matching the model's input; else a clear error."""
    images = np.asarray(images, dtype="float32")
    expected = tuple(model.input_shape[1:])
    if images.ndim != 4 or any(e is not None and e != got for e, got in zip(expected, images.shape[1:])):
        raise ValueError(
            f"Images of shape {images.shape} do not fit model {model.name!r}, which takes (B, "
            f"{', '.join(str(e) for e in expected)}) images."
        )
    if images.shape[0] == 0:
        raise ValueError("No images given: the batch is empty.")
    return images


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
