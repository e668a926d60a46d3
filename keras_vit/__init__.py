"""keras_vit: Vision Transformers for Keras 3 (TensorFlow, JAX and PyTorch backends)."""

from keras_vit import inspect, layers, performance
from keras_vit.checkpoints import load_checkpoint, load_weights, resize_position_embeddings, save_checkpoint
from keras_vit.export import export  # binds `keras_vit.export` to the function, not the subpackage
from keras_vit.inference import evaluate, predict
from keras_vit.layers import (
    AttentionPooling,
    DropPath,
    LayerScale,
    MultiHeadSelfAttention,
    PatchEncoder,
    Patches,
    PatchMerging,
    SwinBlock,
    TokenPooling,
    TransformerBlock,
    WindowAttention,
)
from keras_vit.models import (
    AlterNet,
    ImageClassifier,
    ResNet,
    SwinConfig,
    SwinTransformer,
    ViTConfig,
    VisionTransformer,
    build_alternet,
    build_deit,
    build_resnet,
    build_swin,
    build_vit,
    check_pixels,
    get_config,
    list_configs,
    load_model,
)
from keras_vit.performance.flops import flop_breakdown, flops
from keras_vit.training import DistillationModel, TrainConfig, distillation_loss, train

# Registers the AdamW (and LayerDecayAdamW, through keras_vit.training) that `keras-vit train` compiles with,
# so trained .keras files reload with their optimizer.
from keras_vit.training import optimizer as _training_optimizer  # noqa: E402,F401

__version__ = "0.2.0"
