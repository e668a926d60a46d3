"""`train(config)`: the one call a recipe makes."""

import contextlib
import dataclasses
import inspect
import json
import math
import os
import pathlib
import sys
import time

import keras

from keras_vit import files
from keras_vit.checkpoints import load_checkpoint
from keras_vit.models import SwinConfig, build_alternet, build_resnet, build_swin, build_vit, get_config, load_model
from keras_vit.models.configs import validate_config
from keras_vit.training.backup import Backup
from keras_vit.training.callbacks import build_callbacks
from keras_vit.training.config import TrainConfig
from keras_vit.training.distillation import DistillationModel
from keras_vit.training.distribution import get_distribution
from keras_vit.training.layer_decay import layer_decay_multipliers
from keras_vit.training.optimizer import build_optimizer, peak_learning_rate, schedule_steps
from keras_vit.training.run_dir import RESULT, prepare_run_dir, write_history_csv

# The convolutional models `TrainConfig.model` may name besides the ViT / DeiT configs; overrides go to their builders.
CNN_BUILDERS = {"resnet": build_resnet, "alternet": build_alternet}


@dataclasses.dataclass
class TrainResult:
    """What a run produced. `test_accuracy` / `test_loss`: the final model's on the test split, evaluated
    once, after training; `validation_accuracy` / `validation_loss`: the final model's on the validation
    split; `best_epoch` (0-based) and `best_validation_accuracy`: the epoch `best.keras` holds (all four
    None without a validation split). `history` holds one dict per epoch of the whole run (also the
    epochs done before an interruption), with `loss`, `accuracy`, `val_loss`, `val_accuracy` (on the
    validation split) and `learning_rate`; `fit_seconds` and `images_per_second` cover only the epochs
    this call ran."""

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
    validation_accuracy: float = None
    validation_loss: float = None
    best_epoch: int = None
    best_validation_accuracy: float = None


@dataclasses.dataclass
class Run:
    """What `prepare_run` settles before any model exists: where the run writes, what it resumes,
    its data and its schedule."""

    config: TrainConfig
    distribution: object
    output_dir: str
    start: object  # the RunStart: a finished run, or the backup state to resume
    train_ds: object = None
    validation_ds: object = None  # None: no validation split
    test_ds: object = None
    info: dict = None
    global_batch_size: int = None
    steps_per_epoch: int = None
    total_steps: int = None
    warmup_steps: int = None
    peak_learning_rate: float = None

    @property
    def resume_from_epoch(self):
        return self.start.epochs_done


def train(config=None, *, callbacks=()):
    """Train `config` (a `TrainConfig`; None: the default recipe) and return a `TrainResult`.

    Its steps: prepare the run (check the config before any work, pick the distribution, find an
    interrupted run to resume, build the training, validation and test datasets and the schedule), build
    the model (from `config.checkpoint` when set; the data's class names travel with it) with AdamW and
    the loss inside the distribution scope, fit it, validating every epoch on the validation split
    (`config.validation_split` of the training data, or the source's own), then report: evaluate the
    final model on the validation split and, once, on the test split, and write into `config.run_dir`
    `model.keras` (the final model), `best.keras` (the epoch with the best validation accuracy; not
    written without a validation split), `history.csv` / `history.json`, `config.json` and, last,
    `result.json` (the `TrainResult` figures). Nothing is chosen on the test split. With `config.ema`
    the final model holds the weights' moving average (see `TrainConfig`). Extra Keras `callbacks` run
    after the built-in ones.

    Failure and interruption: a loss that becomes NaN or infinite raises `TrainingDiverged` (naming
    the epoch and step) and writes no model file from the diverged weights. The run folder's
    `backup/` holds every finished epoch until all the final files exist; run the same config again
    after a kill or a divergence and training resumes after the last backed-up epoch (a different
    config there is an error, raised before any work). A run that finished is not trained again:
    its recorded result is returned (the model loaded from `model.keras`), unless `config.overwrite`.
    """
    run = prepare_run(config or TrainConfig())
    if run.start.finished is not None:
        return finished_result(run)
    with run.distribution.scope():
        model = build_trainer(run)
        if run.start.state is not None:
            Backup(run.output_dir).restore(model, run.start.state)
        fit_seconds = fit(model, run, callbacks)
        figures = final_figures(model, run)
    return report(model, run, fit_seconds, figures)


def prepare_run(config):
    """Check `config`, then settle the distribution, the run folder, the datasets and the schedule."""
    from keras_vit.data import AugmentConfig, get_datasets  # TensorFlow: imported when training

    check_config(config)
    augment = AugmentConfig.from_value(config.augment)
    distribution = get_distribution(config.strategy)  # first: MultiWorkerMirroredStrategy must precede any TF op
    check_distribution(config, distribution)
    keras.utils.set_random_seed(config.seed)
    output_dir = config.run_dir
    if distribution.worker is not None:
        output_dir = os.path.join(output_dir, distribution.worker)
    start = prepare_run_dir(output_dir, config.to_json(), overwrite=config.overwrite)
    if start.finished is not None:
        print(
            f"keras_vit: {output_dir} holds a finished run of this config (test_accuracy "
            f"{start.finished['test_accuracy']:.4f}); nothing to train. Pass overwrite=True (--overwrite) to "
            "train it again.",
            flush=True,
        )
        return Run(config, distribution, output_dir, start)

    global_batch_size = config.batch_size * distribution.num_replicas
    train_ds, validation_ds, test_ds, info = get_datasets(
        config.data,
        batch_size=global_batch_size,
        image_size=config.image_size,
        augment=augment,
        data_dir=config.data_dir,
        validation_split=config.validation_split,
        test_split=config.test_split,
        seed=config.seed,
        label_smoothing=config.label_smoothing,
    )
    steps_per_epoch = _steps_per_epoch(train_ds, info["num_train"], global_batch_size)
    if config.grad_accum_steps > steps_per_epoch:
        raise ValueError(
            f"grad_accum_steps={config.grad_accum_steps} accumulates more batches than an epoch has "
            f"({steps_per_epoch} of {global_batch_size} images); valid: 1 to {steps_per_epoch}."
        )
    total_steps, warmup_steps = schedule_steps(config.epochs, steps_per_epoch, config.warmup_epochs,
                                               config.grad_accum_steps)  # fmt: skip
    effective_batch = global_batch_size * config.grad_accum_steps  # what one optimizer step averages over
    run = Run(
        config, distribution, output_dir, start, train_ds, validation_ds, test_ds, info,
        global_batch_size, steps_per_epoch, total_steps, warmup_steps,
        peak_learning_rate(config.base_learning_rate, effective_batch, config.base_batch_size),
    )  # fmt: skip
    model_name = config.model if config.checkpoint is None else f"{config.model} from {config.checkpoint}"
    accumulation = f" (x{config.grad_accum_steps} accumulated)" if config.grad_accum_steps > 1 else ""
    print(
        f"keras_vit: {model_name} on {config.data} ({info['num_train']} train / {info['num_validation']} "
        f"validation / {info['num_test']} test), {distribution.description}, global batch {global_batch_size}"
        f"{accumulation}, peak lr {run.peak_learning_rate:.3g}, {config.epochs} epochs x {steps_per_epoch} steps, "
        f"backend {keras.backend.backend()}"
        + (f"; resuming after epoch {start.epochs_done}" if start.epochs_done else ""),
        flush=True,
    )
    return run


def build_trainer(run):
    """The model to `fit` (the DeiT student wrapped with its teacher when distilling), compiled with
    AdamW (with layer decay, EMA and gradient accumulation when set), its schedule and the cross-entropy loss."""
    config = run.config
    model = build_model(config, run.info)
    multipliers = None if config.layer_decay is None else layer_decay_multipliers(model, config.layer_decay)
    optimizer = build_optimizer(
        run.peak_learning_rate, run.total_steps, run.warmup_steps, config.weight_decay, config.clipnorm,
        no_weight_decay=model.no_weight_decay(), multipliers=multipliers, ema=config.ema,
        grad_accum_steps=config.grad_accum_steps,
    )  # fmt: skip
    compile_model(model, optimizer, soft_labels=run.info["soft_labels"], jit_compile=config.jit_compile)
    return model


def fit(model, run, callbacks=()):
    """`model.fit` for the run's remaining epochs (none when a run killed while writing its final files
    resumes), validating each on the validation split; returns its wall time in seconds."""
    config = run.config
    if run.resume_from_epoch >= config.epochs:
        # What `fit` does when it ends, for the weights restored from the backup: with EMA, the average.
        model.optimizer.finalize_variable_values(model.trainable_weights)
        _unshare_ema_weights(model, config.ema)
        return 0.0
    start = time.perf_counter()
    model.fit(
        # One training iterator for the whole run. Given a finite dataset, Keras replaces its
        # iterator every epoch, and deleting the old tf.data iterator stalled the torch backend for
        # 30 to 60 s per epoch, with the CPU idle (full Fashion-MNIST; see benchmarks/README.md).
        run.train_ds.repeat(),
        steps_per_epoch=run.steps_per_epoch,
        validation_data=run.validation_ds,  # never the test split: best.keras is chosen on this
        epochs=config.epochs,
        initial_epoch=run.resume_from_epoch,
        callbacks=[*build_callbacks(run.output_dir, config.tensorboard, run.start.state), *callbacks],
        verbose=progress_display(config.verbose),
        shuffle=False,  # get_datasets shuffles; Keras' own shuffling does not apply to a tf.data.Dataset
    )
    _unshare_ema_weights(model, config.ema)
    return time.perf_counter() - start


def _unshare_ema_weights(model, ema):
    """Give each weight its own copy of the EMA value Keras' `finalize_variable_values` assigned it.

    On JAX the assignment makes the weight and the optimizer's average hold one array, and the next
    jitted call (`evaluate`) donates the weight's buffer, deleting the average too (saving the model then
    fails: "Array has been deleted").
    """
    if ema:
        for variable in model.trainable_variables:
            variable.assign(keras.ops.copy(variable))


def final_figures(model, run):
    """The final model's loss and accuracy on the validation split (None without one) and, the one time
    the test split is read, on the test split."""
    figures = {}
    for split, dataset in (("validation", run.validation_ds), ("test", run.test_ds)):
        loss, accuracy = (None, None) if dataset is None else model.evaluate(dataset, verbose=0)
        figures.update({f"{split}_loss": loss, f"{split}_accuracy": accuracy})
    return {name: None if value is None else float(value) for name, value in figures.items()}


def report(model, run, fit_seconds, figures):
    """Write the run's final files, each atomically, `result.json` last, then delete the backup (so a
    kill before that point resumes and writes them again); the `TrainResult` with the `final_figures`."""
    output_dir = pathlib.Path(run.output_dir)
    backup = Backup(output_dir)
    state = backup.read()  # the last epoch's, as committed
    best = state.get("best") or {}
    with files.atomic_path(output_dir / "model.keras") as path:
        model.save(path)
    backup.publish_best(state)
    write_history_csv(output_dir, state["history"])
    files.write_json(output_dir / "history.json", state["history"])
    epochs_run = run.config.epochs - run.resume_from_epoch
    result = TrainResult(
        model=getattr(model, "student", model),  # a distilled run returns the student, as it saves it
        **figures,
        history=state["history"],
        output_dir=str(run.output_dir),
        num_replicas=run.distribution.num_replicas,
        global_batch_size=run.global_batch_size,
        peak_learning_rate=run.peak_learning_rate,
        fit_seconds=fit_seconds,
        images_per_second=epochs_run * run.info["num_train"] / fit_seconds if epochs_run and fit_seconds else 0.0,
        best_epoch=best.get("epoch"),
        best_validation_accuracy=best.get("val_accuracy"),
    )
    files.write_json(output_dir / RESULT, result_figures(result))
    backup.delete()
    return result


def result_figures(result):
    """The figures of `result` written to `result.json` (not the model or the history)."""
    # Not dataclasses.asdict: it deep-copies (pickles) the model.
    return {f.name: getattr(result, f.name) for f in dataclasses.fields(result) if f.name not in ("model", "history")}


def finished_result(run):
    """The `TrainResult` a finished run recorded: its figures, its history, its model loaded from
    `model.keras` (uncompiled)."""
    output_dir = pathlib.Path(run.output_dir)
    history = files.require_file(output_dir / "history.json", "History", "the run's history.json").read_text()
    history = json.loads(history)
    model = load_model(output_dir / "model.keras")
    return TrainResult(model=model, history=history, **run.start.finished)


def check_config(config):
    """Raise before any work for an unknown model name or field, an invalid field value, a field the data decides, a
    missing teacher or checkpoint file, a model the checkpoint options do not fit, or a
    precision this backend cannot run."""
    if config.checkpoint is not None:
        _check_checkpoint(config)
    elif config.model == "auto":
        raise ValueError(
            "model='auto' reads the architecture from a checkpoint, but no checkpoint is set; "
            "set checkpoint to a pretrained file, or model to a config name from keras_vit.list_configs()."
        )
    elif config.model not in CNN_BUILDERS:
        # Every field but the image size, which the data sets.
        row = validate_config(get_config(config.model, **config.model_overrides), check_size=False)
        if config.teacher is not None and isinstance(row, SwinConfig):
            raise ValueError(
                f"teacher={config.teacher!r} with model {config.model!r}: DeiT's distillation trains the head of a "
                "distillation token beside the class head, and a Swin Transformer has no tokens to add one to "
                "(its stages pool a feature map); distill into a *_distilled_* DeiT, or train the Swin without a teacher."
            )
    else:
        _check_cnn_overrides(config.model, config.model_overrides)
    if config.layer_decay is not None and config.model in CNN_BUILDERS:
        raise ValueError(f"layer_decay={config.layer_decay} needs a ViT or DeiT (decay per block); model is "
                         f"{config.model!r}.")
    if config.teacher is not None:
        files.check_keras_file(config.teacher, "Teacher model")
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


def _check_cnn_overrides(model, overrides):
    """`model_overrides` of a CNN name arguments of its builder, other than those the data decides."""
    decided = {"num_classes", "image_size", "channels", "input_normalization", "kwargs"}
    valid = [name for name in inspect.signature(CNN_BUILDERS[model]).parameters if name not in decided]
    unknown = sorted(set(overrides) - set(valid))
    if unknown:
        raise ValueError(f"model_overrides {unknown} are not arguments of {CNN_BUILDERS[model].__name__}; "
                         f"valid: {', '.join(valid)}.")


def _check_checkpoint(config):
    if config.model_overrides:
        raise ValueError(
            f"model_overrides {config.model_overrides} cannot apply to the weights of checkpoint "
            f"{config.checkpoint!r}; pass model_overrides={{}} (TrainConfig's default overrides are for its "
            "default model)."
        )
    if config.model in CNN_BUILDERS:
        raise ValueError(f"checkpoint {config.checkpoint!r} holds ViT / DeiT weights; model must be 'auto' or a "
                         f"ViT / DeiT config name, not {config.model!r}.")
    if config.model != "auto":
        get_config(config.model)
    files.check_checkpoint(config.checkpoint)


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


def progress_display(verbose):
    """Keras' `verbose` for `fit`: "auto" is a progress bar on a terminal and one line per epoch otherwise,
    so that logs and pipes get no progress-bar control characters."""
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    return verbose


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


def build_model(config, info):
    """The model `config.model` names for the data `info` describes (its image shape, classes and
    class names), its layers under the dtype policy `config.precision` (heads stay float32, so
    logits are float32 under mixed precision): a ViT or DeiT of the config table, the ResNet
    (`"resnet"`) or AlterNet (`"alternet"`), a Swin Transformer (`swin_*`), or with `config.checkpoint` the model loaded from it (a
    new zero-initialized head unless the checkpoint's has as many classes; position embeddings
    resampled to the images). With
    `config.teacher`, the DeiT student wrapped with its frozen teacher in a `DistillationModel`."""
    height, width, channels = info["image_shape"]
    shape = dict(num_classes=info["num_classes"], image_size=(height, width))
    normalization = dict(input_normalization=config.input_normalization)
    with _dtype_policy(config.precision):
        if config.checkpoint is not None:
            name = None if config.model == "auto" else config.model
            model = load_checkpoint(config.checkpoint, name, **shape, **normalization)
            if model.image_shape[-1] != channels:
                raise ValueError(
                    f"Checkpoint {config.checkpoint!r} takes {model.image_shape[-1]}-channel images, but the "
                    f"data ({config.data}) has {channels} channel(s)."
                )
        elif config.model in CNN_BUILDERS:
            model = CNN_BUILDERS[config.model](**shape, channels=channels, **normalization, **config.model_overrides)
        else:
            builder = build_swin if isinstance(get_config(config.model), SwinConfig) else build_vit
            model = builder(config.model, **shape, channels=channels, **normalization, **config.model_overrides)
    model.class_names = [str(name) for name in info["class_names"]]
    if config.teacher is None:
        return model
    teacher = load_model(config.teacher)
    return DistillationModel(
        model,
        teacher,
        alpha=config.distillation_alpha,
        temperature=config.distillation_temperature,
        distillation=config.distillation,
    )
