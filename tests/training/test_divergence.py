"""A loss that becomes NaN or infinite fails the run: an error naming the epoch and step, no model file from
the diverged weights, `best.keras` only from a finite epoch, and a backup to resume from."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from subprocesses import python_env
from tiny_training import TINY_MODEL, PoisonWeights, tiny_config

from keras_vit.training import TrainingDiverged, read_history, train


def finite(model):
    return all(np.isfinite(keras.ops.convert_to_numpy(weight)).all() for weight in model.weights)


def test_nan_mid_run_fails_naming_epoch_and_step_and_keeps_the_finite_epochs(tiny_idx_dir, tmp_path):
    config = tiny_config(tiny_idx_dir, tmp_path, batch_size=16)  # 4 steps per epoch
    message = (
        r"Training diverged: the training loss became nan at epoch 2, step 3 of 4\. No model file was written "
        r"from the diverged weights; .*backup keeps the last finite epoch \(1 of 3\): running the same config "
        r"again resumes from it"
    )
    with pytest.raises(TrainingDiverged, match=message):
        train(config, callbacks=[PoisonWeights(epoch=1, step=2)])

    assert not (tmp_path / "model.keras").exists() and not (tmp_path / "result.json").exists()
    assert [row["epoch"] for row in read_history(tmp_path)] == [0]  # no row for the diverged epoch
    best = keras.saving.load_model(tmp_path / "best.keras", compile=False)
    assert finite(best)  # epoch 0's
    state = json.loads((tmp_path / "backup" / "state.json").read_text())
    assert state["epoch"] == 1 and state["best"]["epoch"] == 0

    # The same config again resumes after the last finite epoch and finishes.
    result = train(config)
    assert [row["epoch"] for row in result.history] == [0, 1, 2]
    assert finite(result.model) and np.isfinite([row["loss"] for row in result.history]).all()
    assert not (tmp_path / "backup").exists()


def test_nan_in_the_first_epoch_writes_no_best_model(tiny_idx_dir, tmp_path):
    with pytest.raises(TrainingDiverged, match=r"at epoch 1, step 1 of 1\. .*no epoch finished with a finite loss"):
        train(tiny_config(tiny_idx_dir, tmp_path), callbacks=[PoisonWeights(epoch=0, step=0)])
    assert sorted(os.listdir(tmp_path)) == ["config.json"]


def test_weights_diverged_by_the_last_step_of_an_epoch_fail_on_its_validation_loss(tiny_idx_dir, tmp_path):
    with pytest.raises(TrainingDiverged, match=r"the validation loss of epoch 2 is nan\..*last finite epoch \(1 of 3\)"):
        train(tiny_config(tiny_idx_dir, tmp_path), callbacks=[PoisonWeights(epoch=1, step=0, after_step=True)])
    assert [row["epoch"] for row in read_history(tmp_path)] == [0]
    assert finite(keras.saving.load_model(tmp_path / "best.keras", compile=False))
    assert not (tmp_path / "model.keras").exists()


def test_cli_run_that_diverges_exits_non_zero_with_one_line(tiny_idx_dir, tmp_path):
    """A learning rate of 1e30 makes the second step's loss NaN: the command fails and prints why."""
    overrides = [f"--set={key}={value}" for key, value in TINY_MODEL.items()]
    command = [
        sys.executable, "-m", "keras_vit.cli", "train", "--data", "fashion_mnist_idx", "--data-dir", str(tiny_idx_dir),
        "--output-dir", str(tmp_path), "--epochs", "2", "--batch-size", "16", "--warmup-epochs", "0",
        "--base-learning-rate", "1e30", "--clipnorm", "None", "--no-tensorboard", "--verbose", "0", *overrides,
    ]  # fmt: skip
    process = subprocess.run(command, env=python_env(), capture_output=True, text=True, timeout=240)
    assert process.returncode == 1, process.stderr[-3000:]
    last = process.stderr.strip().splitlines()[-1]
    assert last.startswith("keras-vit train: Training diverged: the training loss became nan at epoch 1, step ")
    assert "Traceback" not in process.stderr and "test_accuracy" not in process.stdout
    assert sorted(os.listdir(tmp_path)) == ["config.json"]
