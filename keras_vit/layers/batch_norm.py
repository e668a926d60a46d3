"""The BatchNorm of the package's convolutions (the ViT's convolutional stem, the ResNet and AlterNet)."""

import keras

# PyTorch's default (its momentum 0.1), not Keras' 0.99: the moving statistics that inference uses follow the
# last ~10 batches instead of ~100, so they keep up with weights trained at a high learning rate for a few
# hundred steps. With 0.99, a conv stem trained 3 epochs on 20,000 Fashion-MNIST images scored 10-44% in
# inference mode against 84% in training mode, and a ResNet trained 6 epochs of 85 steps 10-33% against 64-91%
# over its first four epochs.
BATCH_NORM_MOMENTUM = 0.9


def batch_norm(name, dtype):
    """A `BatchNormalization` over the last axis with the package's momentum."""
    return keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM, dtype=dtype, name=name)
