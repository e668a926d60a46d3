"""Looking inside a built or loaded ViT: attention, rollout, attention distance, position embeddings,
and the Fourier analysis of feature maps. Needs only the model (no training or data code)."""

from keras_vit.inspect.attention import attention_model, attention_weights
from keras_vit.inspect.distance import attention_distance, mean_attention_distance, patch_distances
from keras_vit.inspect.frequency import (
    feature_map_variance,
    feature_maps,
    frequency_analysis,
    log_amplitude_spectrum,
    relative_log_amplitude,
)
from keras_vit.inspect.maps import token_map
from keras_vit.inspect.position_similarity import position_embedding_similarity
from keras_vit.inspect.report import write_report
from keras_vit.inspect.rollout import attention_rollout, rollout_steps

__all__ = [
    "attention_distance",
    "attention_model",
    "attention_rollout",
    "attention_weights",
    "feature_map_variance",
    "feature_maps",
    "frequency_analysis",
    "log_amplitude_spectrum",
    "mean_attention_distance",
    "patch_distances",
    "position_embedding_similarity",
    "relative_log_amplitude",
    "rollout_steps",
    "token_map",
    "write_report",
]
