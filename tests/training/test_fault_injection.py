"""Fault injection: one tiny run killed with SIGKILL at every kind of moment in turn (mid-epoch, between
epochs, while writing its backup, while writing its final model, after its result but before deleting its
backup), rerun after each kill, ends with what an uninterrupted run writes: the same files, every epoch
once in the history, finite weights, the same figures. (`benchmarks/fault_injection.py` kills the CLI at
random moments instead.)"""

import json
import os
import pathlib
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest

from script_module import load_script
from subprocesses import python_env
from tiny_training import tiny_config

from keras_vit.training import read_history, train

HERE = pathlib.Path(__file__).resolve().parent
EPOCHS = 3  # tiny_config's


def benchmark():
    return load_script("benchmarks/fault_injection.py")


def run_until(point, data_dir, output_dir):
    """Run killed_run.py to `point`; its stdout. A killed run must have died by SIGKILL at that point."""
    process = subprocess.run(
        [sys.executable, HERE / "killed_run.py", data_dir, output_dir, point],
        env=python_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if point == "none":
        assert process.returncode == 0, process.stderr[-3000:]
    else:
        assert process.returncode == -signal.SIGKILL, f"exit {process.returncode}\n{process.stderr[-3000:]}"
        assert f"KILLED {point}" in process.stdout
    return process.stdout


def backed_up(output_dir):
    return json.loads((output_dir / "backup" / "state.json").read_text())["epoch"]


def weights(path):
    return [keras.ops.convert_to_numpy(w) for w in keras.saving.load_model(path, compile=False).weights]


@pytest.mark.one_backend("torch")
def test_killed_at_every_kind_of_moment_and_rerun_ends_as_an_uninterrupted_run(tiny_idx_dir, tmp_path):
    reference = train(tiny_config(tiny_idx_dir, tmp_path / "uninterrupted"))
    run = tmp_path / "killed"

    run_until("mid_epoch", tiny_idx_dir, run)
    assert backed_up(run) == 1 and [row["epoch"] for row in read_history(run)] == [0]
    run_until("between_epochs", tiny_idx_dir, run)
    assert backed_up(run) == 2 and [row["epoch"] for row in read_history(run)] == [0, 1]
    run_until("backup_write", tiny_idx_dir, run)
    assert backed_up(run) == 2 and (run / "backup" / ".partial.epoch-3.weights.h5").exists()  # torn, not committed
    run_until("final_save", tiny_idx_dir, run)
    assert backed_up(run) == 3 and (run / ".partial.model.keras").exists() and not (run / "model.keras").exists()
    out = run_until("after_result", tiny_idx_dir, run)
    assert "resuming after epoch 3" in out  # no epoch trained again, only the final files written
    assert (run / "result.json").exists() and (run / "backup").exists()
    out = run_until("none", tiny_idx_dir, run)
    assert "holds a finished run of this config" in out

    assert benchmark().run_problems(run, EPOCHS) == []
    assert sorted(os.listdir(run)) == sorted(os.listdir(reference.output_dir))
    # The same training as without the kills: each resumed from the weights and optimizer state of its
    # last backed-up epoch (only the order of the images inside the one batch per epoch differs).
    history = read_history(run)
    np.testing.assert_allclose([row["loss"] for row in history], [row["loss"] for row in reference.history], rtol=1e-4)
    result = json.loads((run / "result.json").read_text())
    assert abs(result["test_accuracy"] - reference.test_accuracy) <= 1 / 128  # at most one of 128 test images
    for ours, theirs in zip(weights(run / "model.keras"), weights(reference.output_dir + "/model.keras")):
        np.testing.assert_allclose(ours, theirs, atol=1e-4)
