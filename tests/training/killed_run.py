"""A tiny training run that kills itself with SIGKILL at a chosen point, for the fault-injection test.

`python killed_run.py DATA_DIR OUTPUT_DIR POINT` trains `tiny_config` (3 epochs of one step) into
OUTPUT_DIR and, at POINT, prints `KILLED <POINT>` and sends itself SIGKILL; POINT "none" runs to the end.
The points (`KILL_POINTS`) are hooks into Keras' and keras_vit's own calls, so each run dies exactly
where the test wants it to, on every backend; a writer "torn" by the kill leaves half of its file.
"""

import os
import signal
import sys

import keras

from tiny_training import tiny_config

KILL_POINTS = {
    "mid_epoch": "after the training step of epoch 1, before its validation and backup",
    "between_epochs": "as epoch 2 begins, epochs 0 and 1 backed up",
    "backup_write": "while writing the backup weights (the first backup this process writes)",
    "final_save": "while writing model.keras",
    "after_result": "after writing result.json, before deleting the backup",
}


def kill(point):
    print(f"KILLED {point}", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def torn(path):
    """What a kill in the middle of writing `path` leaves: its first half."""
    os.truncate(path, os.path.getsize(path) // 2)


class KillAt(keras.callbacks.Callback):
    def __init__(self, point):
        super().__init__()
        self.point = point

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        if self.point == "between_epochs" and epoch == 2:
            kill(self.point)

    def on_train_batch_end(self, batch, logs=None):
        if self.point == "mid_epoch" and self.epoch == 1:
            kill(self.point)


def patch_writers(point):
    """Wrap the writers the point kills in: Keras' `save_weights` / `save`, keras_vit's `write_json`."""
    from keras_vit import files

    if point == "backup_write":
        save_weights = keras.Model.save_weights

        def torn_save_weights(self, filepath, *args, **kwargs):
            save_weights(self, filepath, *args, **kwargs)
            torn(filepath)
            kill(point)

        keras.Model.save_weights = torn_save_weights
    elif point == "final_save":
        save = keras.Model.save

        def torn_save(self, filepath, *args, **kwargs):
            save(self, filepath, *args, **kwargs)
            if str(filepath).endswith(files.PARTIAL_PREFIX + "model.keras"):
                torn(filepath)
                kill(point)

        keras.Model.save = torn_save
    elif point == "after_result":
        write_json = files.write_json

        def write_json_then_die(path, value):
            write_json(path, value)
            if os.path.basename(path) == "result.json":
                kill(point)

        files.write_json = write_json_then_die


if __name__ == "__main__":
    from keras_vit.training import train

    data_dir, output_dir, point = sys.argv[1:4]
    if point not in KILL_POINTS and point != "none":
        raise SystemExit(f"unknown kill point {point!r}; valid: none, {', '.join(KILL_POINTS)}")
    patch_writers(point)
    result = train(tiny_config(data_dir, output_dir), callbacks=[KillAt(point)])
    print(f"test_accuracy: {result.test_accuracy}", flush=True)
