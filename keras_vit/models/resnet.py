"""`ResNet`: a small CNN for 28-32 px images, the teacher (and baseline) of the small-image DeiTs."""

import keras

from keras_vit.checks import check_num_classes, check_positive_int, to_pair
from keras_vit.layers.batch_norm import batch_norm
from keras_vit.models.classifier import ImageClassifier, dtype_policy_of, pixel_input, preprocessing_layer


def check_widths(widths):
    if not widths or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths):
        raise ValueError(f"widths must be a non-empty sequence of positive ints; got {widths!r}.")
    return tuple(widths)


def conv_stem(x, width, policy):
    """3x3 convolution, BN, ReLU at full resolution (small images keep every pixel)."""
    x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False, dtype=policy, name="stem_conv")(x)
    x = batch_norm("stem_bn", policy)(x)
    return keras.layers.ReLU(dtype=policy, name="stem_relu")(x)


def stage_stride(stage, block):
    """Every stage after the first halves the resolution in its first block."""
    return 2 if stage > 0 and block == 0 else 1


def residual_block(x, filters, stride, name, policy):
    """Basic ResNet block (two 3x3 convs, BN, ReLU) with a projection shortcut when the shape changes:
    `(output, the block's output layer)`."""
    shortcut = x
    x = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, dtype=policy, name=f"{name}_conv1")(x)
    x = batch_norm(f"{name}_bn1", policy)(x)
    x = keras.layers.ReLU(dtype=policy, name=f"{name}_relu1")(x)
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, dtype=policy, name=f"{name}_conv2")(x)
    x = batch_norm(f"{name}_bn2", policy)(x)
    if stride != 1:
        # Subsample, then a stride-1 1x1 projection: the same as a strided 1x1 convolution, but it
        # avoids oneDNN's strided 1x1 backward-weights kernel, which hangs or returns wrong
        # gradients on x86 CPUs when the input has fewer channels than its block of 8 or 16
        # (uxlfoundation/oneDNN#6035; hit by PyTorch's CPU backward).
        shortcut = keras.layers.MaxPooling2D(pool_size=1, strides=stride, dtype=policy, name=f"{name}_subsample")(shortcut)
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = keras.layers.Conv2D(filters, 1, use_bias=False, dtype=policy, name=f"{name}_proj")(shortcut)
        shortcut = batch_norm(f"{name}_proj_bn", policy)(shortcut)
    x = keras.layers.Add(dtype=policy, name=f"{name}_add")([x, shortcut])
    out = keras.layers.ReLU(dtype=policy, name=f"{name}_out")
    return out(x), out


@keras.saving.register_keras_serializable(package="keras_vit")
class ResNet(ImageClassifier):
    """A small ResNet: raw pixels `(B, H, W, C)` in [0, 255] -> logits `(B, num_classes)`.

    `preprocessing` (see `keras_vit.models.classifier`), a 3x3 stem, then one stage of
    `blocks_per_stage` basic blocks per entry of `widths` (stride 2 from the second stage),
    global average pooling and a float32 Dense `head`. The defaults (ResNet-14 style, about 0.7M
    parameters) train in minutes on Fashion-MNIST or CIFAR-10. `feature_layers` are the blocks'
    outputs (`stage{i}_block{j}_out`), what `keras_vit.inspect` probes to compare a CNN with a ViT.
    """

    def __init__(
        self,
        num_classes,
        image_size=32,
        channels=3,
        widths=(32, 64, 128),
        blocks_per_stage=2,
        *,
        class_names=None,
        input_normalization=None,
        name="resnet",
        dtype=None,
        **kwargs,
    ):
        check_num_classes(num_classes)
        check_positive_int(channels, "channels")
        check_positive_int(blocks_per_stage, "blocks_per_stage")
        widths = check_widths(widths)
        image_size = to_pair(image_size, "image_size")
        policy = dtype_policy_of(dtype)
        inputs = pixel_input(image_size, channels)
        preprocessing = preprocessing_layer(input_normalization, channels)
        x = conv_stem(preprocessing(inputs), widths[0], policy)
        feature_layers = []
        for stage, filters in enumerate(widths):
            for block in range(blocks_per_stage):
                x, out = residual_block(x, filters, stage_stride(stage, block), f"stage{stage}_block{block}", policy)
                feature_layers.append(out)
        x = keras.layers.GlobalAveragePooling2D(dtype=policy, name="pool")(x)
        head = keras.layers.Dense(num_classes, dtype="float32", name="head")
        super().__init__(
            inputs,
            head(x),
            num_classes=num_classes,
            class_names=class_names,
            input_normalization=input_normalization,
            preprocessing=preprocessing,
            dtype=policy,
            name=name,
            **kwargs,
        )
        self.image_size = image_size
        self.channels = channels
        self.widths = tuple(widths)
        self.blocks_per_stage = blocks_per_stage
        self.head = head
        self.feature_layers = feature_layers

    def get_config(self):
        return {
            **self.classifier_config(),
            "num_classes": self.num_classes,
            "image_size": self.image_size,
            "channels": self.channels,
            "widths": self.widths,
            "blocks_per_stage": self.blocks_per_stage,
        }


def from_legacy_resnet(model, input_normalization=None):
    """The `ResNet` equal to a functional ResNet saved by keras_vit 0.1 (which took images scaled to
    [0, 1]; the returned one takes raw pixels), or None for any other model. That release named its
    layers as this class does, so the architecture is read from the names and the weights copied by name."""
    named = {layer.name: layer for layer in model.layers}
    if not {"stem_conv", "stage0_block0_out", "head"} <= set(named) or not isinstance(model.input_shape, tuple):
        return None
    widths = []
    while f"stage{len(widths)}_block0_conv1" in named:
        widths.append(named[f"stage{len(widths)}_block0_conv1"].filters)
    blocks_per_stage = sum(1 for name in named if name.startswith("stage0_block") and name.endswith("_out"))
    _, height, width, channels = model.input_shape
    upgraded = ResNet(
        named["head"].units, (height, width), channels, widths, blocks_per_stage,
        input_normalization=input_normalization, name=model.name,
    )  # fmt: skip
    for layer in upgraded.layers:
        if layer.weights:
            layer.set_weights(named[layer.name].get_weights())
    return upgraded


def build_resnet(*, num_classes, image_size=32, channels=3, widths=(32, 64, 128), blocks_per_stage=2, **kwargs):
    """A `ResNet` (see there); keyword arguments only, like `build_vit`."""
    return ResNet(num_classes, image_size, channels, widths, blocks_per_stage, **kwargs)
