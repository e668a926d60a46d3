"""The callbacks of a training run: Keras' own, and one that logs the learning rate."""

import os

import keras
from keras import ops

from keras_vit.training.run_dir import backup_dir, history_csv


class LogLearningRate(keras.callbacks.Callback):
    """Adds the optimizer's current learning rate to each epoch's logs as `learning_rate`.

    Keras' `TensorBoard` callback writes it only into its own event files; this puts it in
    the CSV history too, so the schedule a run actually followed can be read back.
    """

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(ops.convert_to_numpy(self.model.optimizer.learning_rate))


def build_callbacks(output_dir, tensorboard=True, resume_from_epoch=0, best_val_accuracy=None):
    """Learning-rate logging, NaN guard, CSV history, best checkpoint (highest `val_accuracy`),
    backup-and-restore and, optionally, TensorBoard, writing into `output_dir`:
    `history.csv`, `best.keras`, `backup/`, `tensorboard/`.

    When resuming (`resume_from_epoch > 0`, see `prepare_run_dir`), the CSV is appended to
    and the best checkpoint only replaced by a better one than `best_val_accuracy`.
    """
    callbacks = [
        LogLearningRate(),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.CSVLogger(history_csv(output_dir), append=resume_from_epoch > 0),
        keras.callbacks.ModelCheckpoint(
            os.path.join(output_dir, "best.keras"),
            monitor="val_accuracy",
            mode="max",
            save_best_only=True,
            initial_value_threshold=best_val_accuracy,
        ),
        # After the CSV row, so the backup never gets ahead of the history.
        keras.callbacks.BackupAndRestore(backup_dir(output_dir)),
    ]
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(output_dir, "tensorboard")))
    return callbacks
