import keras

from keras_vit.layers.validation import check_positive_int, to_pair


def residual_block(x, filters, stride, name):
    """Basic ResNet block (two 3x3 convs, BN, ReLU) with a projection shortcut when the shape changes."""
    shortcut = x
    x = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn1")(x)
    x = keras.layers.ReLU(name=f"{name}_relu1")(x)
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn2")(x)
    if stride != 1:
        # Subsample, then a stride-1 1x1 projection: the same as a strided 1x1 convolution, but it
        # avoids oneDNN's strided 1x1 backward-weights kernel, which hangs or returns wrong
        # gradients on x86 CPUs when the input has fewer channels than its block of 8 or 16
        # (uxlfoundation/oneDNN#6035; hit by PyTorch's CPU backward).
        shortcut = keras.layers.MaxPooling2D(pool_size=1, strides=stride, name=f"{name}_subsample")(shortcut)
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = keras.layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_proj")(shortcut)
        shortcut = keras.layers.BatchNormalization(name=f"{name}_proj_bn")(shortcut)
    x = keras.layers.Add(name=f"{name}_add")([x, shortcut])
    return keras.layers.ReLU(name=f"{name}_out")(x)


def build_resnet(*, num_classes, image_size=32, channels=3, widths=(32, 64, 128), blocks_per_stage=2, name="resnet"):
    """A small ResNet for 28-32 px images, the CNN teacher (and baseline) for small-image DeiT.

    `(B, H, W, C)` -> logits `(B, num_classes)`: a 3x3 stem, then one stage of
    `blocks_per_stage` basic blocks per entry of `widths` (stride 2 from the second stage),
    global average pooling and a float32 Dense head. The defaults (ResNet-14 style,
    about 0.7M parameters) train in minutes on Fashion-MNIST or CIFAR-10.
    Layer names of the stage outputs, `stage{i}_block{j}_out`, are what
    `keras_vit.inspect` probes to compare a CNN with a ViT.
    """
    check_positive_int(num_classes, "num_classes")
    check_positive_int(channels, "channels")
    check_positive_int(blocks_per_stage, "blocks_per_stage")
    if not widths or not all(isinstance(w, int) and w > 0 for w in widths):
        raise ValueError(f"widths must be a non-empty sequence of positive ints; got {widths!r}.")
    height, width = to_pair(image_size, "image_size")
    inputs = keras.Input((height, width, channels), name="images")
    x = keras.layers.Conv2D(widths[0], 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = keras.layers.BatchNormalization(name="stem_bn")(x)
    x = keras.layers.ReLU(name="stem_relu")(x)
    for stage, filters in enumerate(widths):
        for block in range(blocks_per_stage):
            stride = 2 if stage > 0 and block == 0 else 1
            x = residual_block(x, filters, stride, name=f"stage{stage}_block{block}")
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(num_classes, dtype="float32", name="head")(x)
    return keras.Model(inputs, outputs, name=name)
