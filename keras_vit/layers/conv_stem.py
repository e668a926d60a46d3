import keras

from keras_vit.checks import check_non_negative_int, check_positive_int, to_pair
from keras_vit.layers.batch_norm import batch_norm


def stem_widths(width, patch_size):
    """Channel widths of the stem's stride-2 convolutions for a square power-of-two `patch_size`:
    doubling up to `width` (Xiao et al.'s ViTc-1GF stem for width 192, patch 16: 24, 48, 96, 192)."""
    height, width_px = to_pair(patch_size, "patch_size")
    if height != width_px or height < 2 or height & (height - 1):
        raise ValueError(
            "patch_embedding='conv_stem' needs a square power-of-two patch_size (2, 4, 8, 16, ...), "
            f"one stride-2 convolution per halving; got patch_size={patch_size!r}."
        )
    stages = height.bit_length() - 1
    if width % 2 ** (stages - 1):
        raise ValueError(
            f"patch_embedding='conv_stem' with patch_size={height} halves the width {stages - 1} times; "
            f"dim={width} is not divisible by {2 ** (stages - 1)}."
        )
    return [width // 2 ** (stages - 1 - stage) for stage in range(stages)]


@keras.saving.register_keras_serializable(package="keras_vit")
class ConvStem(keras.layers.Layer):
    """The convolutional stem of Xiao et al. 2021 ("Early convolutions help transformers see better").

    `(B, H, W, C)` -> `(B, H/p, W/p, width)` through `log2(p)` 3x3 stride-2 convolutions, each
    followed by BatchNorm and ReLU, with widths doubling up to `width` (see `stem_widths`).
    `entry_width > 0` puts a 3x3 stride-1 convolution of that width (with BatchNorm and ReLU)
    first, at full resolution: on Fashion-MNIST's 28x28 images, 16 of them lifted a small ViT
    from 91.8% to 92.1% (benchmarks/README.md).
    `PatchEncoder(patch_embedding="conv_stem")` puts a 1x1 convolution to `dim` after it, in place
    of the `p x p` patch projection; the token grid is the same.
    """

    def __init__(self, width, patch_size, entry_width=0, **kwargs):
        super().__init__(**kwargs)
        self.width = check_positive_int(width, "width")
        self.widths = stem_widths(self.width, patch_size)
        self.patch_size = to_pair(patch_size, "patch_size")
        self.entry_width = check_non_negative_int(entry_width, "entry_width", zero_means="none")

    def build(self, input_shape):
        self.convs, self.norms = [], []
        shape = input_shape
        stages = [("entry", self.entry_width, 1)] if self.entry_width else []
        stages += [(index, channels, 2) for index, channels in enumerate(self.widths)]
        for index, channels, strides in stages:
            conv = keras.layers.Conv2D(
                channels, 3, strides=strides, padding="same", use_bias=False, dtype=self.dtype_policy,
                name=f"conv_{index}",
            )
            norm = batch_norm(f"norm_{index}", self.dtype_policy)
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            norm.build(shape)
            self.convs.append(conv)
            self.norms.append(norm)

    def call(self, images, training=None):
        x = images
        for conv, norm in zip(self.convs, self.norms):
            x = keras.activations.relu(norm(conv(x), training=training))
        return x

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        return (batch, height // self.patch_size[0], width // self.patch_size[1], self.width)

    def get_config(self):
        return {**super().get_config(), "width": self.width, "patch_size": self.patch_size, "entry_width": self.entry_width}
