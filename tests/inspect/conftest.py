import keras
import pytest

from keras_vit import build_deit


@pytest.fixture
def vit(tiny):
    """A tiny DeiT-style ViT with non-trivial attention: 16x16x3 images, 4x4 patches, 2 blocks of 4 heads,
    18 tokens (CLS, distillation token, 16 patches)."""
    model = build_deit(num_classes=5, distillation_token=True, **tiny)
    # Larger Q/K weights than the initializer's give peaked, image-dependent attention to test against.
    for block in model.blocks:
        kernel = block.attn.qkv.kernel
        kernel.assign(keras.ops.convert_to_tensor(keras.ops.convert_to_numpy(kernel) * 4.0))
    return model


@pytest.fixture
def cnn():
    """A small functional CNN on the same 16x16x3 images, for the model-agnostic analyses."""
    inputs = keras.Input((16, 16, 3), name="images")
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_0")(inputs)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv_1")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, keras.layers.Dense(5, name="head")(x), name="cnn")

