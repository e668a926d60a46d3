"""The MLP activations of the ViT families: exact GELU, its tanh approximation, and quick-GELU.

Each is one function of `x` built from `keras.ops`, usable as a Keras `activation=`.
"""

import math

import keras
from keras import ops

from keras_vit.checks import check_choice


def gelu(x):
    """Exact GELU, `0.5 x (1 + erf(x / sqrt 2))` (ViT, DeiT, DINOv2; timm's `nn.GELU`).

    Under torch, its fused kernel (written out, the formula costs five tensor passes forward and
    more backward, about 15% of a training step). Elsewhere written out with `erf`: TensorFlow's
    own exact GELU emits an `Erfc` op that ONNX Runtime rejects, and JAX's is built on `erfc`
    (exponentials and selects), which makes a training step of the ViT about 4% slower than
    `erf`'s polynomial. The outputs agree to float32 rounding.
    """
    if keras.backend.backend() == "torch":
        return ops.gelu(x, approximate=False)
    return 0.5 * x * (1.0 + ops.erf(x * ops.cast(1.0 / math.sqrt(2.0), x.dtype)))


def gelu_tanh(x):
    """GELU's tanh approximation, `0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))`: big_vision's
    (Flax's default) and so transformers' SigLIP (`gelu_pytorch_tanh`) and timm's `gelu_tanh`."""
    return ops.gelu(x, approximate=True)


def quick_gelu(x):
    """`x * sigmoid(1.702 x)`: the activation OpenAI's CLIP was trained with (timm's `quick_gelu`)."""
    return x * ops.sigmoid(ops.cast(1.702, x.dtype) * x)


ACTIVATIONS = {"gelu": gelu, "gelu_tanh": gelu_tanh, "quick_gelu": quick_gelu}


def get_activation(name):
    """The function called `name` in `ACTIVATIONS`; else a `ValueError` listing the valid names."""
    return ACTIVATIONS[check_choice(name, "activation", tuple(ACTIVATIONS))]
