"""The callbacks of a training run: learning-rate logging, the divergence check, the run's checkpoint
(history, best model, backup) and TensorBoard."""

import math
import os

import keras
from keras import ops

from keras_vit.errors import KerasViTError
from keras_vit.training.backup import Backup, RunCheckpoint


class TrainingDiverged(KerasViTError, RuntimeError):
    """The loss became NaN or infinite: the run failed, and wrote nothing from the diverged weights."""


class LogLearningRate(keras.callbacks.Callback):
    """Adds the optimizer's current learning rate to each epoch's logs as `learning_rate`.

    Keras' `TensorBoard` callback writes it only into its own event files; this puts it in
    the CSV history too, so the schedule a run actually followed can be read back.
    """

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(ops.convert_to_numpy(self.model.optimizer.learning_rate))


class StopOnDivergence(keras.callbacks.Callback):
    """Raises `TrainingDiverged` as soon as the training loss (after each step) or the epoch's loss or
    validation loss is NaN or infinite, naming the epoch and step.

    Raising, rather than Keras' `TerminateOnNaN` stopping `fit`, keeps every later callback from
    running: the diverged epoch writes no history row, best model or backup, and the backup of the last
    finite epoch survives for a rerun to resume from (`TerminateOnNaN` ends `fit` normally, after which
    the run would save and report the diverged model as a result). `output_dir` is named in the message.
    """

    def __init__(self, output_dir):
        super().__init__()
        self.output_dir = output_dir

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            steps = self.params.get("steps")
            self._fail(f"the training loss became {loss} at epoch {self.epoch + 1}, step {batch + 1}"
                       + (f" of {steps}" if steps else ""))  # fmt: skip

    def on_epoch_end(self, epoch, logs=None):
        for name in ("loss", "val_loss"):
            value = (logs or {}).get(name)
            if value is not None and not math.isfinite(value):
                self._fail(f"{'the validation' if name == 'val_loss' else 'the training'} loss of epoch {epoch + 1} "
                           f"is {value}")  # fmt: skip

    def _fail(self, what):
        epochs = self.params.get("epochs")
        good = self.epoch  # the epochs before this one are backed up
        kept = (
            f"{Backup(self.output_dir).folder} keeps the last finite epoch ({good} of {epochs}): running the same "
            "config again resumes from it"
            if good
            else "no epoch finished with a finite loss, so there is nothing to resume"
        )
        raise TrainingDiverged(
            f"Training diverged: {what}. No model file was written from the diverged weights; {kept}. To change "
            "the recipe (a lower base_learning_rate, clipnorm), start over with overwrite=True (--overwrite) or "
            "another output_dir."
        )


def build_callbacks(output_dir, tensorboard=True, state=None):
    """Learning-rate logging, the divergence check, the run's checkpoint (`history.csv`, `best.keras` and
    `backup/`: see `RunCheckpoint`) and, optionally, TensorBoard (`tensorboard/`), writing into
    `output_dir`. `state` is the backup state a resumed run continues from (None: a fresh run)."""
    callbacks = [
        LogLearningRate(),
        StopOnDivergence(output_dir),  # before anything is written for the epoch
        RunCheckpoint(Backup(output_dir), state),
    ]
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(output_dir, "tensorboard")))
    return callbacks
