"""`keras-vit train` end to end, in a child process: killed with SIGKILL mid-run, then the same
command again, which resumes and finishes."""

import csv
import json
import shutil
import signal
import subprocess
import sys
import time

import pytest

from subprocesses import python_env
from tiny_training import TINY_MODEL

EPOCHS = 5


def train_command(data_dir, output_dir):
    overrides = [f"--set={key}={value}" for key, value in TINY_MODEL.items()]
    return [
        sys.executable, "-m", "keras_vit.cli", "train",
        "--data", "fashion_mnist_idx", "--data-dir", str(data_dir), "--output-dir", str(output_dir),
        "--epochs", str(EPOCHS), "--batch-size", "16", "--warmup-epochs", "1", "--augment", "none",
        "--no-tensorboard", "--verbose", "2", *overrides,
    ]  # fmt: skip


def epochs_in_history(output_dir):
    path = output_dir / "history.csv"
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


@pytest.mark.one_backend("tensorflow")
def test_cli_train_killed_mid_run_resumes_with_the_same_command(tiny_idx_dir, tmp_path):
    output_dir = tmp_path / "run"
    command = train_command(tiny_idx_dir, output_dir)
    first = subprocess.Popen(command, env=python_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Kill it as soon as a finished epoch is in the history: the backup's state.json commits the epoch, and
    # the run folder's history.csv is refreshed from it right after (polling state.json alone can kill
    # between the two on a busy machine).
    deadline = time.monotonic() + 180
    while not epochs_in_history(output_dir) and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=30) == -signal.SIGKILL
    done = epochs_in_history(output_dir)
    assert 0 < len(done) < EPOCHS, f"the kill came too late to test resuming: epochs {done}"

    second = subprocess.run(command, env=python_env(), capture_output=True, text=True, timeout=240)
    assert second.returncode == 0, second.stderr[-3000:]
    lines = second.stdout.strip().splitlines()
    resumed_after = int(next(line for line in lines if "resuming after epoch" in line).rsplit(" ", 1)[1])
    assert 1 <= resumed_after <= len(done)
    # Only the epochs not yet done ran, and the history holds every epoch exactly once.
    ran = [line for line in lines if line.startswith("Epoch ")]
    assert ran == [f"Epoch {epoch + 1}/{EPOCHS}" for epoch in range(resumed_after, EPOCHS)]
    assert epochs_in_history(output_dir) == list(range(EPOCHS))

    assert lines[-1].startswith("test_accuracy: ")
    accuracy = float(lines[-1].split(": ")[1])
    with open(output_dir / "result.json") as f:
        assert json.load(f)["test_accuracy"] == pytest.approx(accuracy, abs=5e-5)
    with open(output_dir / "history.json") as f:
        assert [row["epoch"] for row in json.load(f)] == list(range(EPOCHS))
    for name in ("model.keras", "best.keras", "config.json"):
        assert (output_dir / name).is_file()
    assert not (output_dir / "backup").exists()

    # The same command once more: the run is finished, so it is reported, not trained again.
    third = subprocess.run(command, env=python_env(), capture_output=True, text=True, timeout=240)
    assert third.returncode == 0, third.stderr[-3000:]
    assert "holds a finished run of this config" in third.stdout and "Epoch " not in third.stdout
    assert third.stdout.strip().splitlines()[-1] == lines[-1]  # the same test_accuracy


def test_cli_rejects_bad_arguments_before_training(tmp_path):
    from keras_vit.cli import main

    def error(*args):
        with pytest.raises(SystemExit) as exit_info:
            main(["train", "--output-dir", str(tmp_path / "run"), *args])
        return str(exit_info.value)

    assert error("--epochs", "0") == "keras-vit train: --epochs must be a positive int; got 0."
    assert "Unknown config field(s) ['no_such_field']" in error("--set", "no_such_field=1")
    assert "--set expects FIELD=VALUE; got 'depth'" in error("--set", "depth")
    assert "Unknown config name 'vit_huge'" in error("--model", "vit_huge")
    assert "recipe 'nope.py' is neither 'default' nor an existing file" in error("--recipe", "nope.py")
    assert not (tmp_path / "run").exists()


def test_cli_refuses_labels_outside_the_classes_before_training(tiny_idx_dir, tmp_path):
    """IDX labels 12 and 255 with 10 classes used to train to the end with exit 0 (TensorFlow, JAX)."""
    from keras_vit.cli import main
    from keras_vit.data import load_idx, write_idx

    data = shutil.copytree(tiny_idx_dir, tmp_path / "data")
    labels_file = data / "train-labels-idx1-ubyte.gz"
    labels = load_idx(data / "train-images-idx3-ubyte.gz", labels_file)[1].astype("uint8")
    labels[[5, 9]] = [12, 255]
    write_idx(labels_file, labels)
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--data", "fashion_mnist_idx", "--data-dir", str(data), "--output-dir", str(tmp_path / "run")])
    assert str(exit_info.value) == (
        f"keras-vit train: IDX labels file {labels_file} holds 2 label(s) outside [0, 10): 12 (1x), 255 (1x), the "
        "first at index 5. With 10 classes the valid labels are 0 to 9."
    )
    assert not (tmp_path / "run" / "model.keras").exists()
