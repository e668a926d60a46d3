"""keras_vit: Vision Transformers for Keras 3 (TensorFlow, JAX and PyTorch backends)."""

from keras_vit import layers
from keras_vit.layers import (
    DropPath,
    LayerScale,
    MultiHeadSelfAttention,
    PatchEncoder,
    Patches,
    TokenPooling,
    TransformerBlock,
)
from keras_vit.models import (
    DistillationModel,
    ViTConfig,
    build_deit,
    build_resnet,
    build_vit,
    distillation_heads,
    distillation_loss,
    get_config,
    list_configs,
)
from keras_vit.training import TrainConfig, train

__version__ = "0.1.0"
