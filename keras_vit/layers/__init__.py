from keras_vit.layers.attention import MultiHeadSelfAttention
from keras_vit.layers.attention_pool import AttentionPooling
from keras_vit.layers.conv_stem import ConvStem
from keras_vit.layers.layer_norm import LayerNorm
from keras_vit.layers.patch_encoder import PatchEncoder
from keras_vit.layers.patches import Patches
from keras_vit.layers.pooling import TokenPooling
from keras_vit.layers.regularization import DropPath, LayerScale
from keras_vit.layers.transformer_block import TransformerBlock

__all__ = [
    "AttentionPooling",
    "ConvStem",
    "DropPath",
    "LayerNorm",
    "LayerScale",
    "MultiHeadSelfAttention",
    "PatchEncoder",
    "Patches",
    "TokenPooling",
    "TransformerBlock",
]
