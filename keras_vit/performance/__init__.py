"""Speed: analytic FLOPs (`keras_vit.flops`) and the fast training view of a model."""

from keras_vit.performance.fast_training import fast_training_model

__all__ = ["fast_training_model"]
