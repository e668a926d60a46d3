"""timm's ResNetV2 as a hybrid ViT's patch embedding (BiT-style: weight-standardized convolutions, GroupNorm)."""

import math

import keras
from keras import ops

from keras_vit.checks import check_positive_int

GROUPS = 32  # timm's GroupNormAct(num_groups=32)
GROUP_NORM_EPSILON = 1e-5
# timm's hybrids build their convolutions with `partial(StdConv2dSame, eps=1e-8)`.
STD_CONV_EPSILON = 1e-8


def check_backbone(layers, width):
    """`(layers, width)` checked: a sequence of stage depths (empty: the stem alone) and a stem width that every
    GroupNorm of the backbone can split into 32 groups."""
    if not isinstance(layers, (tuple, list)) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in layers
    ):
        raise ValueError(f"backbone_layers must be a sequence of positive ints (blocks per stage); got {layers!r}.")
    check_positive_int(width, "backbone_width")
    if width % GROUPS:
        raise ValueError(f"backbone_width must be a multiple of {GROUPS} (GroupNorm's groups); got {width}.")
    return tuple(layers), width


def backbone_stride(layers):
    """The backbone's total stride: 4 for the stem (a stride-2 convolution and max pooling), then 2 per stage
    after the first."""
    return 4 * 2 ** max(len(layers) - 1, 0)


def backbone_grid(image_size, layers):
    """The `(h, w)` feature map of the backbone on `(H, W)` images: each stride-2 step with SAME padding is a
    ceiling division."""
    steps = 2 + max(len(layers) - 1, 0)
    return tuple(_halve(size, steps) for size in image_size)


def _halve(size, times):
    for _ in range(times):
        size = math.ceil(size / 2)
    return size


def stage_widths(layers, width):
    """`[(bottleneck width, output width)]` of each stage: timm's channels (256, 512, 1024, 2048) for width 64."""
    return [(width * 2**index, 4 * width * 2**index) for index in range(len(layers))]


@keras.saving.register_keras_serializable(package="keras_vit")
class StdConv2D(keras.layers.Conv2D):
    """`Conv2D` with weight standardization (timm's `StdConv2dSame`): each output channel's kernel is shifted
    and scaled to mean 0 and variance 1 (over its `kh * kw * in` values, biased variance, plus `epsilon`)
    before the convolution. Keras' `padding="same"` is TF's SAME padding, which `StdConv2dSame` computes."""

    def __init__(self, filters, kernel_size, epsilon=STD_CONV_EPSILON, **kwargs):
        super().__init__(filters, kernel_size, padding="same", use_bias=False, **kwargs)
        self.epsilon = epsilon

    def convolution_op(self, inputs, kernel):
        mean = ops.mean(kernel, axis=(0, 1, 2), keepdims=True)
        variance = ops.mean(ops.square(kernel - mean), axis=(0, 1, 2), keepdims=True)
        return super().convolution_op(inputs, (kernel - mean) * ops.rsqrt(variance + self.epsilon))

    def get_config(self):
        config = super().get_config()
        for key in ("padding", "use_bias"):
            config.pop(key)
        return {**config, "epsilon": self.epsilon}


def _norm(name, policy):
    return keras.layers.GroupNormalization(GROUPS, epsilon=GROUP_NORM_EPSILON, dtype=policy, name=name)


@keras.saving.register_keras_serializable(package="keras_vit")
class Bottleneck(keras.layers.Layer):
    """timm's non-pre-activation ResNetV2 `Bottleneck`: 1x1, 3x3 (strided), 1x1 standardized convolutions, each
    followed by GroupNorm (ReLU after the first two), added to the shortcut (a strided 1x1 convolution and
    GroupNorm, `downsample_conv` / `downsample_norm`, in a stage's first block), then ReLU.
    `(B, H, W, C)` -> `(B, H/stride, W/stride, out_width)`."""

    def __init__(self, width, out_width, stride=1, project=False, **kwargs):
        super().__init__(**kwargs)
        self.width = check_positive_int(width, "width")
        self.out_width = check_positive_int(out_width, "out_width")
        self.stride = check_positive_int(stride, "stride")
        self.project = bool(project)

    def build(self, input_shape):
        policy = self.dtype_policy
        self.convs = [
            StdConv2D(self.width, 1, dtype=policy, name="conv1"),
            StdConv2D(self.width, 3, strides=self.stride, dtype=policy, name="conv2"),
            StdConv2D(self.out_width, 1, dtype=policy, name="conv3"),
        ]
        self.norms = [_norm(f"norm{index}", policy) for index in (1, 2, 3)]
        shape = input_shape
        for conv, norm in zip(self.convs, self.norms):
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            norm.build(shape)
        if self.project:
            self.downsample_conv = StdConv2D(self.out_width, 1, strides=self.stride, dtype=policy, name="downsample_conv")
            self.downsample_conv.build(input_shape)
            self.downsample_norm = _norm("downsample_norm", policy)
            self.downsample_norm.build(shape)

    def call(self, x):
        shortcut = self.downsample_norm(self.downsample_conv(x)) if self.project else x
        for index, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = norm(conv(x))
            if index < 2:
                x = ops.relu(x)
        return ops.relu(x + shortcut)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        return (batch, math.ceil(height / self.stride), math.ceil(width / self.stride), self.out_width)

    def get_config(self):
        return {**super().get_config(), "width": self.width, "out_width": self.out_width, "stride": self.stride,
                "project": self.project}  # fmt: skip


@keras.saving.register_keras_serializable(package="keras_vit")
class ResNetV2Backbone(keras.layers.Layer):
    """The CNN of timm's hybrid ViTs (`vit_*_r*`): `(B, H, W, C)` -> `(B, H/s, W/s, features)`.

    The stem is a 7x7 stride-2 standardized convolution of `width` channels, GroupNorm and ReLU, and 3x3 stride-2
    max pooling (SAME padding throughout, timm's `stem_type="same"`); then one stage of `layers[i]` bottlenecks
    per entry (stride 2 from the second stage; output widths `4 * width * 2**i`). `layers=()` is the stem alone
    (`vit_tiny_r_s16_p8_*`). `s` is `backbone_stride(layers)`; `features` is the last stage's output width, or
    `width` for the stem alone.
    """

    def __init__(self, layers=(), width=64, **kwargs):
        super().__init__(**kwargs)
        self.layers_per_stage, self.width = check_backbone(layers, width)

    @property
    def features(self):
        widths = stage_widths(self.layers_per_stage, self.width)
        return widths[-1][1] if widths else self.width

    def build(self, input_shape):
        policy = self.dtype_policy
        self.stem_conv = StdConv2D(self.width, 7, strides=2, dtype=policy, name="stem_conv")
        self.stem_conv.build(input_shape)
        shape = self.stem_conv.compute_output_shape(input_shape)
        self.stem_norm = _norm("stem_norm", policy)
        self.stem_norm.build(shape)
        self.pool = keras.layers.MaxPooling2D(3, 2, padding="same", dtype=policy, name="stem_pool")
        shape = self.pool.compute_output_shape(shape)
        self.blocks = []
        for stage, (depth, (width, out_width)) in enumerate(zip(self.layers_per_stage, stage_widths(self.layers_per_stage, self.width))):
            for index in range(depth):
                block = Bottleneck(
                    width, out_width, stride=2 if stage and not index else 1, project=not index, dtype=policy,
                    name=f"stage{stage}_block{index}",
                )  # fmt: skip
                block.build(shape)
                shape = block.compute_output_shape(shape)
                self.blocks.append(block)

    def stages(self):
        """The bottlenecks of each stage, in order."""
        blocks, out = iter(self.blocks), []
        for depth in self.layers_per_stage:
            out.append([next(blocks) for _ in range(depth)])
        return out

    def call(self, x):
        x = self.pool(ops.relu(self.stem_norm(self.stem_conv(x))))
        for block in self.blocks:
            x = block(x)
        return x

    def compute_output_shape(self, input_shape):
        batch = input_shape[0]
        height, width = backbone_grid(input_shape[1:3], self.layers_per_stage)
        return (batch, height, width, self.features)

    def get_config(self):
        return {**super().get_config(), "layers": self.layers_per_stage, "width": self.width}
