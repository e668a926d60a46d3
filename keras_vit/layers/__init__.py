from keras_vit.layers.attention import MultiHeadSelfAttention
from keras_vit.layers.attention_pool import AttentionPooling
from keras_vit.layers.conv_stem import ConvStem
from keras_vit.layers.layer_norm import LayerNorm
from keras_vit.layers.patch_encoder import PatchEncoder
from keras_vit.layers.patch_merging import PatchMerging
from keras_vit.layers.patches import Patches
from keras_vit.layers.pooling import TokenPooling
from keras_vit.layers.regularization import DropPath, LayerScale
from keras_vit.layers.resnetv2 import ResNetV2Backbone, StdConv2D
from keras_vit.layers.swin_block import SwinBlock
from keras_vit.layers.transformer_block import TransformerBlock
from keras_vit.layers.window_attention import WindowAttention

__all__ = [
    "AttentionPooling",
    "ConvStem",
    "DropPath",
    "LayerNorm",
    "LayerScale",
    "MultiHeadSelfAttention",
    "PatchEncoder",
    "PatchMerging",
    "Patches",
    "ResNetV2Backbone",
    "StdConv2D",
    "SwinBlock",
    "TokenPooling",
    "TransformerBlock",
    "WindowAttention",
]
