"""`TrainConfig`: everything one training run needs, as one dataclass (a "recipe")."""

import dataclasses
import json

from keras_vit.checks import (
    check_bool,
    check_choice,
    check_label_smoothing,
    check_non_negative_int,
    check_normalization,
    check_number_in,
    check_positive_int,
    check_positive_number,
    check_test_split,
    check_validation_split,
)
from keras_vit.training.distillation import DISTILLATION_KINDS
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
    `AugmentConfig` preset name (`"none"`, `"flip"`, `"light"`, `"deit"`) or an `AugmentConfig`;
    `label_smoothing` softens the training targets (validation and test labels are never smoothed).

    Validation: `validation_split` (in [0, 1)) of the training data is held out, a random choice of
    examples drawn with `seed` (disjoint from training and test data, the same for the same seed), or the
    source's own validation split where it has one (a tfds "validation" split beside "test", a folder's
    `validation/`). Each epoch is validated on it, and `best.keras` is the epoch with the best validation
    accuracy. The test split is evaluated once, on the final model, after training: nothing is chosen on
    it. `validation_split=0` means no validation: no per-epoch validation and no `best.keras` (only
    `model.keras`, the final model). `test_split` (in (0, 1)) is the test fraction of a flat image folder
    (`data_dir/<class>/*`, no `train/` and `test/`), the same images whatever the seed; sources with a
    test split of their own ignore it.
    The model takes raw pixels and normalizes them itself: `input_normalization` is an optional
    `(mean, std)` on the [0, 1] scale, each a number or one number per channel, that it applies
    after scaling to [0, 1] (`((0.5,), (0.5,))` maps to [-1, 1], as timm's and big_vision's ViTs
    expect); None: [0, 1], or with a checkpoint the normalization the checkpoint records (an
    error naming `input_normalization` when it records none; `(0, 1)` says [0, 1] pixels).

    Batch size and learning rate: `batch_size` is per replica, so the global batch is
    `batch_size * num_replicas`, and the peak learning rate scales linearly with it:
    `peak_lr = base_learning_rate * global_batch / base_batch_size` (the DeiT rule, with
    `base_batch_size` 512). Adding replicas keeps each replica's batch and scales the step.

    Schedule: linear warm-up from 0 over `warmup_epochs`, then cosine decay to 0 at the end of
    `epochs`. AdamW with decoupled `weight_decay` (not applied to biases, norms, LayerScale,
    position embeddings or the class/distillation tokens) and global-norm gradient clipping at
    `clipnorm` (None: no clipping).

    `grad_accum_steps` k > 1 (Keras' `gradient_accumulation_steps`): the optimizer steps once every k
    batches, on their averaged gradient, which is one step on a batch k times larger; so the peak learning
    rate follows the effective batch `global_batch * k` and the schedule counts optimizer steps. k must
    not exceed the batches of an epoch.
    `ema` (Keras' `use_ema`, momentum 0.99): the optimizer keeps an exponential moving average of the
    weights, updated after every batch (with `grad_accum_steps`, also after the batches that only
    accumulate), and Keras puts it into the model when `fit` ends (`finalize_variable_values`). So
    `model.keras`, the returned model and the final `validation_accuracy` and `test_accuracy` are the EMA
    weights'; the per-epoch validation in the history, and so the choice and the contents of `best.keras`,
    are of the weights the optimizer steps, which Keras does not swap during `fit`.

    Model kinds: a ViT config name builds a ViT; a distilled DeiT name (`deit_*_distilled_*`)
    builds a DeiT; `"resnet"` builds the small CNN (`keras_vit.build_resnet`, overrides go to it) and
    `"alternet"` Park & Kim's CNN with attention closing each stage (`keras_vit.build_alternet`).
    Distillation: with `teacher` (a `.keras` file of a model mapping the same images to the
    same classes) the DeiT student trains against it with `DistillationModel`:
    `(1 - distillation_alpha) * CE + distillation_alpha * D`, D `"hard"` or `"soft"` at
    `distillation_temperature`. Only the student is saved.

    Run: `strategy` (see `keras_vit.training.distribution`), `precision` (`"float32"`,
    `"mixed_bfloat16"`, `"mixed_float16"`; logits stay float32), `seed`, and `output_dir`
    (default `runs/<name>`), which receives `model.keras`, `best.keras` (with validation), `history.csv`,
    `history.json`, `config.json`, `result.json`, `tensorboard/` and, while a run is
    unfinished, `backup/` (from which an interrupted or diverged run resumes). A folder holding a
    finished run of the same config is not trained again (`train` returns its result);
    `overwrite=True` deletes the run there, finished or not, and starts over. `tensorboard` and `verbose`
    switch the TensorBoard logs and set Keras' progress display. `jit_compile="auto"` compiles
    the train step with XLA on TensorFlow and JAX but not on torch (where it would mean
    `torch.compile`, which fails on the convolutional stem); Keras' own "auto" leaves XLA off for
    TensorFlow on CPU (`benchmarks/compile_options.py` times both settings).
    """

    name: str = "default"
    model: str = "vit_nano_patch4_28"
    # 4 blocks of 2 heads pooled by their mean: fewer and wider heads over the 49 patches train faster on
    # CPU cores at the same accuracy on the embedded subset (benchmarks/README.md, "Heads").
    model_overrides: dict = dataclasses.field(
        default_factory=lambda: dict(depth=4, num_heads=2, pooling="gap", class_token=False)
    )
    checkpoint: str = None
    data: str = "default"
    data_dir: str = None
    validation_split: float = 0.1
    test_split: float = 0.2
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
    grad_accum_steps: int = 1
    ema: bool = False
    strategy: str = "auto"
    precision: str = "float32"
    teacher: str = None
    distillation: str = "hard"
    distillation_alpha: float = 0.5
    distillation_temperature: float = 1.0
    seed: int = 0
    output_dir: str = None
    overwrite: bool = False
    tensorboard: bool = True
    verbose: object = "auto"
    jit_compile: object = "auto"

    def __post_init__(self):
        check_positive_int(self.epochs, "epochs")
        check_positive_int(self.batch_size, "batch_size")
        check_positive_int(self.base_batch_size, "base_batch_size")
        check_positive_number(self.base_learning_rate, "base_learning_rate")
        check_number_in(self.weight_decay, "weight_decay", 0.0, float("inf"))
        check_number_in(self.warmup_epochs, "warmup_epochs", 0.0, self.epochs)
        check_label_smoothing(self.label_smoothing)
        check_validation_split(self.validation_split)
        check_test_split(self.test_split)
        check_positive_int(self.grad_accum_steps, "grad_accum_steps", one_means="no accumulation")
        check_bool(self.ema, "ema")
        if self.clipnorm is not None:
            check_positive_number(self.clipnorm, "clipnorm")
        check_choice(self.precision, "precision", PRECISIONS)
        if not isinstance(self.model_overrides, dict):
            raise ValueError(f"model_overrides must be a dict of ViTConfig fields; got {self.model_overrides!r}.")
        check_choice(self.distillation, "distillation", DISTILLATION_KINDS)
        check_number_in(self.distillation_alpha, "distillation_alpha", 0.0, 1.0)
        check_positive_number(self.distillation_temperature, "distillation_temperature")
        check_non_negative_int(self.seed, "seed")
        check_bool(self.overwrite, "overwrite")
        if self.layer_decay is not None:
            check_layer_decay(self.layer_decay)
        if self.input_normalization is not None:
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
        """The config as JSON (an `AugmentConfig` is written as its fields; `from_json` reads it back), without
        `overwrite`: it says how a run starts, not what the run is, so a run started with it resumes without it."""
        fields = dataclasses.asdict(self)
        del fields["overwrite"]
        if dataclasses.is_dataclass(self.augment):
            fields["augment"] = dataclasses.asdict(self.augment)
        return json.dumps(fields, indent=2, default=repr)

    @classmethod
    def from_json(cls, text):
        """The `TrainConfig` that `to_json` wrote (a run's `config.json`)."""
        from keras_vit.data.augment_config import AugmentConfig

        fields = json.loads(text)
        if isinstance(fields.get("augment"), dict):
            augment = fields["augment"]
            tuples = {key: tuple(value) for key, value in augment.items() if isinstance(value, list)}
            fields["augment"] = AugmentConfig(**{**augment, **tuples})
        if isinstance(fields.get("image_size"), list):
            fields["image_size"] = tuple(fields["image_size"])
        return cls(**fields)


def field_names():
    return [f.name for f in dataclasses.fields(TrainConfig)]
