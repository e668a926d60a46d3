"""`train(config)`: the one call a recipe makes."""

import contextlib
import dataclasses
import json
import math
import os
import time

import keras

from keras_vit.checkpoints import load_checkpoint
from keras_vit.models import DistillationModel, build_deit, build_resnet, build_vit, get_config
from keras_vit.training.callbacks import build_callbacks
from keras_vit.training.config import TrainConfig
from keras_vit.training.distribution import get_distribution
from keras_vit.training.layer_decay import layer_decay_multipliers
from keras_vit.training.optimizer import build_optimizer, peak_learning_rate, schedule_steps
from keras_vit.training.run_dir import prepare_run_dir, read_history


@dataclasses.dataclass
class TrainResult:
    """What a run produced. `history` holds one dict per epoch of the whole run (also the
    epochs done before an interruption), with `loss`, `accuracy`, `val_loss`,
    `val_accuracy` (on the test split) and `learning_rate`; `fit_seconds` and
    `images_per_second` cover only the epochs this call ran."""

    model: object
    test_accuracy: float
    test_loss: float
    history: list
    output_dir: str
    num_replicas: int
    global_batch_size: int
    peak_learning_rate: float
    fit_seconds: float
    images_per_second: float


def train(config=None, *, callbacks=()):
    """Train `config` (a `TrainConfig`; None: the default recipe) and return a `TrainResult`.

    Builds the datasets with the global batch size, the model (from `config.checkpoint` when
    set), AdamW with its schedule (and layer decay) and the loss inside the distribution scope
    chosen by `config.strategy`, runs `model.fit` with the test split as validation data,
    evaluates, and writes into `config.run_dir`:
    `model.keras` (the final model), `best.keras` (the epoch with the best test accuracy),
    `history.csv` / `history.json`, `config.json` and `result.json`. If `output_dir` holds the
    backup of an interrupted run of the same config, training resumes after its last
    finished epoch (a different config there is an error, raised before any work). Extra Keras
    `callbacks` run after the built-in ones.
    """
    from keras_vit.data import get_datasets

    config = config or TrainConfig()
    check_config(config)
    augment = _augment(config.augment, config.label_smoothing)
    distribution = get_distribution(config.strategy)  # first: MultiWorkerMirroredStrategy must precede any TF op
    check_distribution(config, distribution)
    keras.utils.set_random_seed(config.seed)
    output_dir = config.run_dir
    if distribution.worker is not None:
        output_dir = os.path.join(output_dir, distribution.worker)
    resume_from_epoch, best_val_accuracy = prepare_run_dir(output_dir, config.to_json())

    global_batch_size = config.batch_size * distribution.num_replicas
    train_ds, test_ds, info = get_datasets(
        config.data,
        batch_size=global_batch_size,
        image_size=config.image_size,
        augment=augment,
        data_dir=config.data_dir,
        seed=config.seed,
        input_normalization=config.input_normalization,
    )
    soft_labels = _one_hot_labels(train_ds)
    if _one_hot_labels(test_ds) != soft_labels:
        raise ValueError(f"Train and test labels differ in format: {train_ds.element_spec[1]} vs {test_ds.element_spec[1]}.")
    steps_per_epoch = _steps_per_epoch(train_ds, info["num_train"], global_batch_size)
    total_steps, warmup_steps = schedule_steps(config.epochs, steps_per_epoch, config.warmup_epochs)
    peak_lr = peak_learning_rate(config.base_learning_rate, global_batch_size, config.base_batch_size)
    model_name = config.model if config.checkpoint is None else f"{config.model} from {config.checkpoint}"
    print(
        f"keras_vit: {model_name} on {config.data} ({info['num_train']} train / {info['num_test']} test), "
        f"{distribution.description}, global batch {global_batch_size}, peak lr {peak_lr:.3g}, "
        f"{config.epochs} epochs x {steps_per_epoch} steps, backend {keras.backend.backend()}"
        + (f"; resuming after epoch {resume_from_epoch}" if resume_from_epoch else ""),
        flush=True,
    )

    with distribution.scope():
        model = build_model(config, info["num_classes"], info["image_shape"])
        multipliers = None
        if config.layer_decay is not None:
            multipliers = layer_decay_multipliers(getattr(model, "student", model), config.layer_decay)
        optimizer = build_optimizer(
            model.trainable_variables, peak_lr, total_steps, warmup_steps, config.weight_decay, config.clipnorm,
            multipliers=multipliers,
        )
        compile_model(model, optimizer, soft_labels=soft_labels, jit_compile=config.jit_compile)
        start = time.perf_counter()
        model.fit(
            # One training iterator for the whole run. Given a finite dataset, Keras replaces its
            # iterator every epoch, and deleting the old tf.data iterator stalled the torch backend for
            # 30 to 60 s per epoch, with the CPU idle (full Fashion-MNIST; see benchmarks/README.md).
            train_ds.repeat(),
            steps_per_epoch=steps_per_epoch,
            validation_data=test_ds,
            epochs=config.epochs,
            callbacks=[
                *build_callbacks(output_dir, config.tensorboard, resume_from_epoch, best_val_accuracy),
                *callbacks,
            ],
            verbose=config.verbose,
            shuffle=False,  # get_datasets shuffles; Keras' own shuffling does not apply to a tf.data.Dataset
        )
        fit_seconds = time.perf_counter() - start
        test_loss, test_accuracy = model.evaluate(test_ds, verbose=0)

    model.save(os.path.join(output_dir, "model.keras"))
    epochs_run = config.epochs - resume_from_epoch
    result = TrainResult(
        model=getattr(model, "student", model),  # a distilled run returns the student, as it saves it
        test_accuracy=float(test_accuracy),
        test_loss=float(test_loss),
        history=read_history(output_dir),
        output_dir=output_dir,
        num_replicas=distribution.num_replicas,
        global_batch_size=global_batch_size,
        peak_learning_rate=peak_lr,
        fit_seconds=fit_seconds,
        images_per_second=epochs_run * info["num_train"] / fit_seconds if epochs_run else 0.0,
    )
    write_result(result)
    return result


def check_config(config):
    """Raise before any work for an unknown model name or field, a field the data decides, a
    missing teacher or checkpoint file, a model the checkpoint options do not fit, or a
    precision this backend cannot run."""
    if config.checkpoint is not None:
        _check_checkpoint(config)
    elif config.model == "auto":
        raise ValueError(
            "model='auto' reads the architecture from a checkpoint, but no checkpoint is set; "
            "set checkpoint to a pretrained file, or model to a config name from keras_vit.list_configs()."
        )
    elif config.model != "resnet":
        get_config(config.model, **config.model_overrides)
    if config.layer_decay is not None and config.model == "resnet":
        raise ValueError(f"layer_decay={config.layer_decay} needs a ViT or DeiT (decay per block); model is 'resnet'.")
    if config.teacher is not None and not os.path.isfile(config.teacher):
        raise FileNotFoundError(f"Teacher model {config.teacher!r} not found: give the path of a .keras file.")
    for field in ("image_size", "channels"):
        if field in config.model_overrides:
            raise ValueError(
                f"model_overrides sets {field!r}, but the model takes its input shape from the data; "
                "set TrainConfig.image_size to resize the images instead."
            )
    if config.precision == "mixed_float16" and keras.backend.backend() == "jax":
        import jax

        if jax.default_backend() == "cpu":
            raise ValueError(
                "precision='mixed_float16' does not run on JAX's CPU backend (its matmul has no float16); "
                "use 'mixed_bfloat16' or 'float32' there."
            )


def _check_checkpoint(config):
    if config.model_overrides:
        raise ValueError(
            f"model_overrides {config.model_overrides} cannot apply to the weights of checkpoint "
            f"{config.checkpoint!r}; pass model_overrides={{}} (TrainConfig's default overrides are for its "
            "default model)."
        )
    if config.model == "resnet":
        raise ValueError(f"checkpoint {config.checkpoint!r} holds ViT / DeiT weights; model must be 'auto' or a "
                         "ViT / DeiT config name, not 'resnet'.")
    if config.model != "auto":
        get_config(config.model)
    if not os.path.exists(config.checkpoint):
        raise FileNotFoundError(
            f"Checkpoint {config.checkpoint!r} not found: give the path of a timm / transformers / npz "
            "checkpoint (file, or transformers folder)."
        )


def check_distribution(config, distribution):
    """Raise for what `config` cannot do under `distribution`: layer decay with more than one
    tf.distribute replica, where its weight decay would be applied per replica."""
    if config.layer_decay is not None and distribution.num_replicas > 1 and keras.backend.backend() == "tensorflow":
        raise ValueError(
            f"layer_decay={config.layer_decay} is not supported with {distribution.num_replicas} tf.distribute "
            "replicas (its weight decay is not replica-aware); use strategy='one_device', or the JAX backend."
        )


def compile_model(model, optimizer, soft_labels, jit_compile="auto"):
    """Compile with cross-entropy on logits (categorical for one-hot / soft labels, which the
    data pipeline has already smoothed or mixed; sparse for int labels) and accuracy. Under
    `mixed_float16`, Keras wraps the optimizer in a `LossScaleOptimizer`. `jit_compile="auto"`
    means XLA on TensorFlow and JAX, not torch (see `TrainConfig`)."""
    if soft_labels:
        loss = keras.losses.CategoricalCrossentropy(from_logits=True)
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    if jit_compile == "auto":
        jit_compile = keras.backend.backend() != "torch"
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"], jit_compile=jit_compile)


def write_result(result):
    """`history.json` and `result.json` (the figures of `result`) into its output folder."""
    with open(os.path.join(result.output_dir, "history.json"), "w") as f:
        json.dump(result.history, f, indent=1)
    with open(os.path.join(result.output_dir, "result.json"), "w") as f:
        # Not dataclasses.asdict: it deep-copies (pickles) the model.
        fields = [f.name for f in dataclasses.fields(result) if f.name not in ("model", "history")]
        json.dump({name: getattr(result, name) for name in fields}, f, indent=1)


def _augment(augment, label_smoothing):
    """The `AugmentConfig` for a preset name, None or an `AugmentConfig`, with `label_smoothing` set."""
    from keras_vit.data import AugmentConfig

    augment = AugmentConfig.from_value(augment)
    if not label_smoothing:
        return augment
    if augment.label_smoothing not in (0, label_smoothing):
        raise ValueError(
            f"label_smoothing={label_smoothing} conflicts with the AugmentConfig's "
            f"label_smoothing={augment.label_smoothing}; set only one."
        )
    return dataclasses.replace(augment, label_smoothing=label_smoothing)


def _one_hot_labels(dataset):
    return len(dataset.element_spec[1].shape) == 2


def _steps_per_epoch(dataset, num_train, global_batch_size):
    cardinality = int(dataset.cardinality())
    return cardinality if cardinality > 0 else math.ceil(num_train / global_batch_size)


@contextlib.contextmanager
def _dtype_policy(name):
    """Build layers under the global dtype policy `name`, then restore the previous one."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def build_model(config, num_classes, image_shape):
    """The model `config.model` names for images `image_shape` `(H, W, C)`, its layers under the
    dtype policy `config.precision` (heads stay float32, so logits are float32 under mixed
    precision); with `config.checkpoint`, loaded from it for `num_classes` classes (a new
    zero-initialized head unless the checkpoint's has as many) and position embeddings
    resampled to `(H, W)`; with `config.teacher`, the DeiT student wrapped
    with its frozen teacher in a `DistillationModel`."""
    height, width, channels = image_shape
    shape = dict(num_classes=num_classes, image_size=(height, width), channels=channels)
    with _dtype_policy(config.precision):
        if config.checkpoint is not None:
            name = None if config.model == "auto" else config.model
            model = load_checkpoint(config.checkpoint, name, num_classes=num_classes, image_size=(height, width))
            if model.input_shape[-1] != channels:
                raise ValueError(
                    f"Checkpoint {config.checkpoint!r} takes {model.input_shape[-1]}-channel images, but the "
                    f"data ({config.data}) has {channels} channel(s)."
                )
        elif config.model == "resnet":
            model = build_resnet(**shape, **config.model_overrides)
        elif get_config(config.model, **config.model_overrides).distillation_token:
            model = build_deit(config.model, **shape, **config.model_overrides)
        else:
            model = build_vit(config.model, **shape, **config.model_overrides)
    if config.teacher is None:
        return model
    teacher = keras.saving.load_model(config.teacher, compile=False)
    return DistillationModel(
        model,
        teacher,
        alpha=config.distillation_alpha,
        temperature=config.distillation_temperature,
        distillation=config.distillation,
    )
