"""Training: `train(TrainConfig(...))` builds the model (or loads a checkpoint to fine-tune) in the
right distribution scope and runs `model.fit` with AdamW (optionally with layer-wise learning-rate
decay), a warm-up + cosine schedule, checkpoints and crash-safe backups it resumes from; a diverged
run fails with `TrainingDiverged`. `DistillationModel` trains a DeiT against a CNN teacher."""

from keras_vit.training.callbacks import LogLearningRate, StopOnDivergence, TrainingDiverged, build_callbacks
from keras_vit.training.config import TrainConfig
from keras_vit.training.distillation import DistillationModel, distillation_loss
from keras_vit.training.distribution import Distribution, get_distribution
from keras_vit.training.layer_decay import LayerDecayAdamW, layer_decay_multipliers
from keras_vit.training.optimizer import build_optimizer, peak_learning_rate, schedule_steps, warmup_cosine
from keras_vit.training.run_dir import check_run_dir, prepare_run_dir, read_history
from keras_vit.training.train import TrainResult, train

__all__ = [
    "DistillationModel",
    "Distribution",
    "LayerDecayAdamW",
    "LogLearningRate",
    "StopOnDivergence",
    "TrainConfig",
    "TrainResult",
    "TrainingDiverged",
    "build_callbacks",
    "build_optimizer",
    "check_run_dir",
    "distillation_loss",
    "get_distribution",
    "layer_decay_multipliers",
    "peak_learning_rate",
    "prepare_run_dir",
    "read_history",
    "schedule_steps",
    "train",
    "warmup_cosine",
]
