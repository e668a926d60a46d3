"""`ImageClassifier`: what every keras_vit model is — raw pixels in, preprocessing inside, class names carried.

The input convention (the one place it is written down; keras.applications' EfficientNet and
ConvNeXt do the same): a model takes images `(B, H, W, C)` as they come from an image file or
`keras.utils.load_img` — pixel values in [0, 255], uint8 or float, RGB or gray as `C` says — and
maps them itself to what its first layer was trained on: `x / 255`, then `(x - mean) / std` per
channel when it has an `input_normalization = (mean, std)` (on the [0, 1] scale, as timm's
`pretrained_cfg` and transformers' `image_mean` / `image_std` give them). One `Rescaling` layer,
`preprocessing`, does both. So a model trained or fine-tuned with any mean and std is fed the same
raw pixels, and its `.keras` file, exports and predictions need no preprocessing restated.
"""

import keras

from keras_vit.checks import check_class_names, check_normalization, to_pair

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
