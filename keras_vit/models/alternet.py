"""`AlterNet`: Park & Kim's ResNet whose stages end in multi-head self-attention ("How do Vision
Transformers work?", ICLR 2022), sized like `ResNet` for 28-32 px images."""

import keras

from keras_vit.checks import check_heads, check_num_classes, check_positive_int, to_pair
from keras_vit.layers import TransformerBlock
from keras_vit.models.classifier import ImageClassifier, dtype_policy_of, pixel_input, preprocessing_layer
from keras_vit.models.resnet import check_widths, conv_stem, residual_block, stage_stride


def check_stage_heads(num_heads, widths, blocks_per_stage):
    """One head count per stage (0: the stage stays convolutional), each dividing the stage's width;
    a stage with attention needs a convolutional block before it (`blocks_per_stage >= 2`)."""
    if (not isinstance(num_heads, (tuple, list)) or len(num_heads) != len(widths)
            or not all(isinstance(h, int) and not isinstance(h, bool) and h >= 0 for h in num_heads)):  # fmt: skip
        raise ValueError(f"num_heads must give one int >= 0 per stage ({len(widths)} stages, widths {tuple(widths)}; "
                         f"0: no attention in that stage); got {num_heads!r}.")
    for width, heads in zip(widths, num_heads):
        if heads:
            check_heads(width, heads)
    if any(num_heads) and blocks_per_stage < 2:
        raise ValueError(
            f"blocks_per_stage={blocks_per_stage}: a stage ending in attention needs at least one convolutional "
            "block before it (the one that changes its resolution and width); use blocks_per_stage >= 2."
        )
    return tuple(num_heads)


def attention_block(x, num_heads, mlp_ratio, name, policy):
    """The feature map `(B, H, W, C)` as `H * W` tokens through a pre-norm ViT block (`TransformerBlock`:
    global multi-head self-attention, then an MLP of `mlp_ratio * C`), and back to a map:
    `(output, the block's output layer, the TransformerBlock)`."""
    _, height, width, channels = x.shape
    block = TransformerBlock(num_heads, mlp_ratio * channels, dtype=policy, name=f"{name}_attention")
    tokens = keras.layers.Reshape((height * width, channels), dtype=policy, name=f"{name}_tokens")(x)
    out = keras.layers.Reshape((height, width, channels), dtype=policy, name=f"{name}_out")
    return out(block(tokens)), out, block


@keras.saving.register_keras_serializable(package="keras_vit")
class AlterNet(ImageClassifier):
    """AlterNet: raw pixels `(B, H, W, C)` in [0, 255] -> logits `(B, num_classes)`.

    `ResNet`'s layout (`preprocessing`, a 3x3 stem, one stage of `blocks_per_stage` basic blocks per
    entry of `widths`, stride 2 from the second stage, global average pooling, a float32 Dense `head`)
    with the last block of each stage whose `num_heads` entry is non-zero replaced by a self-attention
    block: the stage's map as tokens through a `TransformerBlock` with that many heads and an MLP of
    `mlp_ratio` times the width. Park & Kim found that convolutions (high-pass filters) followed by
    self-attention (a low-pass filter that averages feature maps) at the end of a stage beat both a CNN
    and a ViT on small data. As in their AlterNet, the default keeps the first stage convolutional
    (`num_heads[0] = 0`) and closes every later one with attention: at full resolution attention would
    span 784 to 1024 tokens, and a training step on 28 px images took 6x as long with it (JAX, 2 CPU
    cores); `num_heads=(1, 2, 4)` puts it in every stage. Their blocks attend within 7x7 windows with a
    relative position bias; here attention is global over the stage's map (at most 16x16 tokens from
    the second stage of a 32 px image), and position reaches it through the convolutions before it.

    `feature_layers` are every block's output map (`stage{i}_block{j}_out`), what the Fourier analysis of
    `keras_vit.inspect` probes; `attention_blocks` the `TransformerBlock`s, in depth order.
    """

    def __init__(
        self,
        num_classes,
        image_size=32,
        channels=3,
        widths=(32, 64, 128),
        blocks_per_stage=2,
        num_heads=(0, 2, 4),
        mlp_ratio=2,
        *,
        class_names=None,
        input_normalization=None,
        name="alternet",
        dtype=None,
        **kwargs,
    ):
        check_num_classes(num_classes)
        check_positive_int(channels, "channels")
        check_positive_int(blocks_per_stage, "blocks_per_stage")
        check_positive_int(mlp_ratio, "mlp_ratio")
        widths = check_widths(widths)
        num_heads = check_stage_heads(num_heads, widths, blocks_per_stage)
        image_size = to_pair(image_size, "image_size")
        policy = dtype_policy_of(dtype)
        inputs = pixel_input(image_size, channels)
        preprocessing = preprocessing_layer(input_normalization, channels)
        x = conv_stem(preprocessing(inputs), widths[0], policy)
        feature_layers, attention_blocks = [], []
        for stage, (filters, heads) in enumerate(zip(widths, num_heads)):
            for block in range(blocks_per_stage):
                name_ = f"stage{stage}_block{block}"
                if heads and block == blocks_per_stage - 1:
                    x, out, attention = attention_block(x, heads, mlp_ratio, name_, policy)
                    attention_blocks.append(attention)
                else:
                    x, out = residual_block(x, filters, stage_stride(stage, block), name_, policy)
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
        self.widths = widths
        self.blocks_per_stage = blocks_per_stage
        self.num_heads = num_heads
        self.mlp_ratio = mlp_ratio
        self.head = head
        self.feature_layers = feature_layers
        self.attention_blocks = attention_blocks

    def get_config(self):
        return {
            **self.classifier_config(),
            "num_classes": self.num_classes,
            "image_size": self.image_size,
            "channels": self.channels,
            "widths": self.widths,
            "blocks_per_stage": self.blocks_per_stage,
            "num_heads": self.num_heads,
            "mlp_ratio": self.mlp_ratio,
        }


def build_alternet(*, num_classes, image_size=32, channels=3, widths=(32, 64, 128), blocks_per_stage=2,
                   num_heads=(0, 2, 4), mlp_ratio=2, **kwargs):  # fmt: skip
    """An `AlterNet` (see there); keyword arguments only, like `build_resnet`."""
    return AlterNet(num_classes, image_size, channels, widths, blocks_per_stage, num_heads, mlp_ratio, **kwargs)
