"""Pretrained checkpoints: timm, Hugging Face transformers and Google ViT / big_vision weights in and out."""

from keras_vit.checkpoints.load import load_checkpoint, load_weights
from keras_vit.checkpoints.resize import resize_position_embeddings
from keras_vit.checkpoints.save import save_checkpoint

__all__ = ["load_checkpoint", "load_weights", "resize_position_embeddings", "save_checkpoint"]
