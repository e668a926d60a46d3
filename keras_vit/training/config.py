"""`TrainConfig`: everything one training run needs, as one dataclass (a "recipe")."""

import dataclasses
import json

from keras_vit.training.layer_decay import check_layer_decay

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """A training recipe. `TrainConfig()` is the default: a small ViT on the embedded
    Fashion-MNIST subset, tuned to reach >= 85% test accuracy in under 5 minutes on 2 CPU cores.

    Model: `model` names a row of the config table (`keras_vit.list_configs()`);
    `model_overrides` replaces any `ViTConfig` field (`dropout`, `drop_path_rate`, `depth`, ...).

    Fine-tuning: with `checkpoint` (any file or folder `keras_vit.load_checkpoint` reads) the run
    starts from those weights, with a new zero-initialized head for the data's classes (unless
    the checkpoint's head has as many) and the position embeddings resampled to the data's
    image size. `model="auto"` then reads the architecture from the file; a config name makes
    the file fit that config. `"auto"` without a checkpoint is an error, and so are
    `model_overrides` with one (they cannot apply to loaded weights: pass `model_overrides={}`).
    `layer_decay` in (0, 1] scales each layer's learning rate and weight decay (BEiT / timm): 1
    for the head and final norm, `layer_decay ** k` for the block k places below them,
    `layer_decay ** (depth + 1)` for the patch encoder; None: one rate for all. Not with more
    than one tf.distribute replica.

    Data: `data` is a `keras_vit.data` source (`"default"`, `"fashion_mnist_idx"`, `"folder"`,
    `"tfds:<name>"`) read from `data_dir`; `image_size` resizes; `augment` is an
    `AugmentConfig` preset name (`"none"`, `"flip"`, `"light"`, `"deit"`) or an `AugmentConfig`.
    `input_normalization` is an optional `(mean, std)`, each a number or one number per channel,
    applied after augmentation to train and test images: `(x - mean) / std` (`((0.5,), (0.5,))`
    maps [0, 1] to [-1, 1], as timm's and big_vision's ViTs expect); None leaves them in [0, 1].

    Batch size and learning rate: `batch_size` is per replica, so the global batch is
    `batch_size * num_replicas`, and the peak learning rate scales linearly with it:
    `peak_lr = base_learning_rate * global_batch / base_batch_size` (the DeiT rule, with
    `base_batch_size` 512). Adding replicas keeps each replica's batch and scales the step.

    Schedule: linear warm-up from 0 over `warmup_epochs`, then cosine decay to 0 at the end of
    `epochs`. AdamW with decoupled `weight_decay` (not applied to biases, norms, LayerScale,
    position embeddings or the class/distillation tokens) and global-norm gradient clipping at
    `clipnorm` (None: no clipping).

    Model kinds: a ViT config name builds a ViT; a distilled DeiT name (`deit_*_distilled_*`)
    builds a DeiT; `"resnet"` builds the small CNN (`keras_vit.build_resnet`, overrides go to it).
    Distillation: with `teacher` (a `.keras` file of a model mapping the same images to the
    same classes) the DeiT student trains against it with `DistillationModel`:
    `(1 - distillation_alpha) * CE + distillation_alpha * D`, D `"hard"` or `"soft"` at
    `distillation_temperature`. Only the student is saved.

    Run: `strategy` (see `keras_vit.training.distribution`), `precision` (`"float32"`,
    `"mixed_bfloat16"`, `"mixed_float16"`; logits stay float32), `seed`, and `output_dir`
    (default `runs/<name>`), which receives `model.keras`, `best.keras`, `history.csv`,
    `history.json`, `config.json`, `result.json`, `tensorboard/` and, while a run is
    unfinished, `backup/` (from which an interrupted run resumes). `tensorboard` and `verbose`
    switch the TensorBoard logs and set Keras' progress display. `jit_compile="auto"` compiles
    the train step with XLA on TensorFlow and JAX but not on torch (where it would mean
    `torch.compile`, much slower here); Keras' own "auto" leaves XLA off for TensorFlow on CPU,
    where it is ~30% faster for these models.
    """

    name: str = "default"
    model: str = "vit_nano_patch4_28"
    # 4 blocks of 2 heads pooled by their mean: on 2 CPU cores the default run's time goes mostly to
    # attention over the 49 patches, and this shape reached the same accuracy as the full nano
    # (6 blocks, 4 heads, CLS token) in 30% less time (benchmarks/README.md).
    model_overrides: dict = dataclasses.field(
        default_factory=lambda: dict(depth=4, num_heads=2, pooling="gap", class_token=False)
    )
    checkpoint: str = None
    data: str = "default"
    data_dir: str = None
    image_size: int = None
    augment: object = "none"
    input_normalization: tuple = None
    epochs: int = 10
    batch_size: int = 128
    base_learning_rate: float = 8e-3
    base_batch_size: int = 512
    weight_decay: float = 0.05
    layer_decay: float = None
    warmup_epochs: float = 0.5
    label_smoothing: float = 0.1
    clipnorm: float = 1.0
    strategy: str = "auto"
    precision: str = "float32"
    teacher: str = None
    distillation: str = "hard"
    distillation_alpha: float = 0.5
    distillation_temperature: float = 1.0
    seed: int = 0
    output_dir: str = None
    tensorboard: bool = True
    verbose: object = "auto"
    jit_compile: object = "auto"

    def __post_init__(self):
        _check_positive_int(self.epochs, "epochs")
        _check_positive_int(self.batch_size, "batch_size")
        _check_positive_int(self.base_batch_size, "base_batch_size")
        _check_positive_number(self.base_learning_rate, "base_learning_rate")
        for field in ("weight_decay", "warmup_epochs"):
            if not isinstance(getattr(self, field), (int, float)) or getattr(self, field) < 0:
                raise ValueError(f"{field} must be a number >= 0; got {getattr(self, field)!r}.")
        if self.warmup_epochs > self.epochs:
            raise ValueError(f"warmup_epochs={self.warmup_epochs} is longer than epochs={self.epochs}.")
        if not isinstance(self.label_smoothing, (int, float)) or not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1); got {self.label_smoothing!r}.")
        if self.clipnorm is not None:
            _check_positive_number(self.clipnorm, "clipnorm")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {self.precision!r}.")
        if not isinstance(self.model_overrides, dict):
            raise ValueError(f"model_overrides must be a dict of ViTConfig fields; got {self.model_overrides!r}.")
        if self.distillation not in ("hard", "soft"):
            raise ValueError(f"distillation must be one of 'hard', 'soft'; got {self.distillation!r}.")
        if not isinstance(self.distillation_alpha, (int, float)) or not 0.0 <= self.distillation_alpha <= 1.0:
            raise ValueError(f"distillation_alpha must be in [0, 1]; got {self.distillation_alpha!r}.")
        _check_positive_number(self.distillation_temperature, "distillation_temperature")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"seed must be an int >= 0; got {self.seed!r}.")
        if self.layer_decay is not None:
            check_layer_decay(self.layer_decay)
        if self.input_normalization is not None:
            from keras_vit.data.normalization import check_normalization  # imports TensorFlow: only when needed

            object.__setattr__(self, "input_normalization", check_normalization(self.input_normalization))

    @property
    def run_dir(self):
        """`output_dir`, or `runs/<name>` when it is not set."""
        return self.output_dir or f"runs/{self.name}"

    def replace(self, **changes):
        """A copy with `changes` applied (validated); unknown field names are an error."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ValueError(f"Unknown TrainConfig field(s) {unknown}. Valid fields: {', '.join(field_names())}.")
        return dataclasses.replace(self, **changes)

    def to_json(self):
        """The config as JSON (an `AugmentConfig` is written as its fields)."""
        fields = dataclasses.asdict(self)
        if dataclasses.is_dataclass(self.augment):
            fields["augment"] = dataclasses.asdict(self.augment)
        return json.dumps(fields, indent=2, default=repr)


def field_names():
    return [f.name for f in dataclasses.fields(TrainConfig)]


def _check_positive_int(value, name):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive int; got {value!r}.")


def _check_positive_number(value, name):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive number; got {value!r}.")
