"""`ImageClassifier`: what every keras_vit model is — raw pixels in, preprocessing inside, class names carried.

The input convention (the one place it is written down; keras.applications' EfficientNet and
ConvNeXt do the same): a model takes images `(B, H, W, C)` as they come from an image file or
`keras.utils.load_img` — pixel values in [0, 255], uint8 or float, RGB or gray as `C` says — and
maps them itself to what its first layer was trained on: `x / 255`, then `(x - mean) / std` per
channel when it has an `input_normalization = (mean, std)` (on the [0, 1] scale, as timm's
`pretrained_cfg` and transformers' `image_mean` / `image_std` give them). One `Rescaling` layer,
`preprocessing`, does both. So a model trained or fine-tuned with any mean and std is fed the same
raw pixels, and its `.keras` file, exports and predictions need no preprocessing restated.
`check_pixels(model, images)` checks an array against this convention where images enter the package.
"""

import warnings

import keras
import numpy as np

from keras_vit.checks import (
    check_channels_last,
    check_class_names,
    check_normalization,
    looks_channels_first,
    to_pair,
)

PIXEL_MAX = 255.0


def pixel_input(image_size, channels):
    """The model input: raw pixels `(B, H, W, C)`, float32 (uint8 arrays are converted)."""
    height, width = to_pair(image_size, "image_size")
    return keras.Input((height, width, channels), name="images")


def preprocessing_layer(input_normalization, channels):
    """`Rescaling` from raw pixels [0, 255] to `x / 255`, or to `(x / 255 - mean) / std` per channel.

    float32 whatever the dtype policy: the first layer downstream casts to its compute dtype.
    """
    if input_normalization is None:
        return keras.layers.Rescaling(1.0 / PIXEL_MAX, dtype="float32", name="preprocessing")
    mean, std = check_normalization(input_normalization, channels)
    if len(mean) != len(std):  # one value for every channel on one side: repeat it
        mean, std = mean * (channels // len(mean)), std * (channels // len(std))
    scale = [1.0 / (PIXEL_MAX * s) for s in std]
    offset = [-m / s for m, s in zip(mean, std)]
    return keras.layers.Rescaling(scale, offset, dtype="float32", name="preprocessing")


def dtype_policy_of(dtype):
    """The dtype policy a model's layers are built with: `dtype`, or the global policy when None."""
    return keras.config.dtype_policy() if dtype is None else keras.dtype_policies.get(dtype)


class ImageClassifier(keras.Model):
    """A functional `keras.Model` subclass taking raw pixels (see the module's input convention).

    Subclasses build their graph from `pixel_input` and `preprocessing_layer`, then call this
    constructor; their `get_config` returns their own constructor arguments (with
    `classifier_config()`), so `.keras` files rebuild them through their constructor.

    Attributes:
        num_classes: the number of logits, or None for a headless feature extractor.
        class_names: a list of `num_classes` strings, or None; settable (`train()` sets it from the data).
        input_normalization: `(mean, std)` tuples on the [0, 1] scale, or None.
        preprocessing: the `Rescaling` layer that applies them.
        feature_layers: the layers whose outputs are the model's feature maps, in depth order
            (what the Fourier analysis of `keras_vit.inspect` probes by default).
    """

    def __init__(self, inputs, outputs, *, num_classes, class_names, input_normalization, preprocessing, dtype,
                 **kwargs):
        super().__init__(inputs, outputs, **kwargs)
        self.dtype_policy = dtype  # a functional keras.Model ignores a dtype argument; the layers were built with it
        self.num_classes = num_classes
        self.input_normalization = (
            None if input_normalization is None else check_normalization(input_normalization, inputs.shape[-1])
        )
        self.preprocessing = preprocessing
        self.class_names = class_names

    @property
    def class_names(self):
        return None if self._class_names is None else list(self._class_names)

    @class_names.setter
    def class_names(self, names):
        names = check_class_names(names, self.num_classes)
        self._class_names = None if names is None else tuple(names)

    @property
    def image_shape(self):
        """`(H, W, C)` of the images the model takes."""
        return tuple(self.inputs[0].shape[1:])

    def no_weight_decay(self):
        """The trainable variables AdamW must not decay: every one with at most one axis (biases and
        norm scales; timm's rule). Subclasses add their own (position embeddings, tokens)."""
        return [variable for variable in self.trainable_variables if len(variable.shape) <= 1]

    def layer_groups(self):
        """Groups of layers, from the input up, that layer-wise learning-rate decay scales alike."""
        raise ValueError(f"Layer-wise learning-rate decay needs a ViT or DeiT (decay per block); {self.name!r} is a "
                         f"{type(self).__name__}.")

    def classifier_config(self):
        """The constructor arguments every classifier shares, for `get_config`."""
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
            "class_names": self.class_names,
            "input_normalization": self.input_normalization,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        # The constructor rebuilds the graph; Keras' functional from_config would give a plain keras.Model.
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.dtype_policies.deserialize(config["dtype"])
        return cls(**config)


def check_pixels(model, images, *, name="images", strict=True):
    """`images` for `model`, checked against its input convention; returned as a numpy array (dtype kept).

    Args:
        model: a `keras.Model` with one image input `(B, H, W, C)`; the value checks apply to keras_vit
            models (`ImageClassifier`s, which take raw pixels in [0, 255]), the shape checks to any model.
        images: an array (numpy or a backend tensor) of a batch of images `(B, H, W, C)`.
        name: what to call `images` in messages (e.g. `"representative_data"`).
        strict: whether images that look scaled to [0, 1] are an error (True) or a warning.

    Raises `ValueError`, naming the shape or the range and the convention, when `images`:
        - are not a non-empty batch `(B, H, W, C)` of the model's `(H, W, C)`; a batch that looks
          channels-first `(B, C, H, W)`, or a single image without the batch axis, is named as such;
        - hold NaN or infinite values;
        - (keras_vit models) hold values below 0 or above 255, which no pixel has;
        - (keras_vit models, float images, `strict=True`) all lie in [0, 1] and are not all 0: images
          scaled to [0, 1], which the model would read as nearly black (it divides by 255 itself).
    """
    if not isinstance(images, np.ndarray):
        images = np.asarray(keras.ops.convert_to_numpy(images) if hasattr(images, "shape") else images)
    expected = tuple(model.inputs[0].shape[1:])
    who = f"{name} for model {model.name!r}"
    if images.ndim == 3 and all(e is None or e == s for e, s in zip(expected, images.shape)):
        raise ValueError(
            f"{name} of shape {images.shape} is one image; model {model.name!r} takes a batch (B, "
            f"{', '.join(map(str, expected))}): add the batch axis, e.g. images[None]."
        )
    if looks_channels_first(images.shape):
        check_channels_last(images.shape, who, expected)  # raises, saying so
    if images.ndim != 4 or any(e is not None and e != s for e, s in zip(expected, images.shape[1:])):
        dims = ", ".join(map(str, expected))
        raise ValueError(f"{name} must be images shaped (N, {dims}); got {images.shape} (model {model.name!r} takes "
                         f"(B, {dims}) images).")  # fmt: skip
    if images.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch {images.shape}; give at least one image.")
    if images.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold numbers (pixel values); got dtype {images.dtype}.")
    if images.dtype.kind == "f" and not np.isfinite(images).all():
        count = int(np.size(images) - np.isfinite(images).sum())
        raise ValueError(f"{name} hold {count} NaN or infinite value(s); images must be finite pixel values.")
    if not isinstance(model, ImageClassifier):
        return images  # a Keras model of another convention: its value range is its own
    low, high = float(images.min()), float(images.max())
    convention = (
        f"model {model.name!r} takes raw pixels in [0, {PIXEL_MAX:g}] (uint8 or float, as read from image "
        "files) and scales them itself"
    )
    if low < 0 or high > PIXEL_MAX:
        raise ValueError(f"{name} have values in [{low:g}, {high:g}], outside [0, {PIXEL_MAX:g}]: {convention}.")
    if images.dtype.kind == "f" and 0 < high <= 1:
        message = (
            f"{name} have values in [{low:g}, {high:g}]: they look scaled to [0, 1], but {convention}; "
            f"pass the raw pixels (images * {PIXEL_MAX:g})."
        )
        if strict:
            raise ValueError(message)
        warnings.warn(message, stacklevel=2)
    return images
