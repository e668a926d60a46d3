"""Looking inside a built or loaded ViT: attention, rollout, attention distance, position embeddings,
the Fourier analysis of feature maps, and for any Keras classifier the loss Hessian's spectrum and the loss
landscape. Needs only the model (no training or data code)."""

from keras_vit.inspect.attention import attention_model, attention_weights
from keras_vit.inspect.curvature import (
    hessian_density,
    hessian_eigenvalues,
    hessian_max_eigenvalue_spectrum,
    hessian_trace,
)
from keras_vit.inspect.distance import attention_distance, mean_attention_distance, patch_distances
from keras_vit.inspect.frequency import (
    feature_map_variance,
    feature_maps,
    frequency_analysis,
    log_amplitude_spectrum,
    relative_log_amplitude,
)
from keras_vit.inspect.landscape import filter_normalized_direction, loss_landscape
from keras_vit.inspect.maps import token_map
from keras_vit.inspect.position_similarity import position_embedding_similarity
from keras_vit.inspect.report import write_report
from keras_vit.inspect.rollout import attention_rollout, rollout_steps
from keras_vit.inspect.windows import stitched_attention_maps, window_attention_distance, window_attention_weights

__all__ = [
    "attention_distance",
    "attention_model",
    "attention_rollout",
    "attention_weights",
    "feature_map_variance",
    "filter_normalized_direction",
    "feature_maps",
    "frequency_analysis",
    "hessian_density",
    "hessian_eigenvalues",
    "hessian_max_eigenvalue_spectrum",
    "hessian_trace",
    "loss_landscape",
    "log_amplitude_spectrum",
    "mean_attention_distance",
    "patch_distances",
    "position_embedding_similarity",
    "relative_log_amplitude",
    "stitched_attention_maps",
    "rollout_steps",
    "token_map",
    "write_report",
    "window_attention_distance",
    "window_attention_weights",
]
