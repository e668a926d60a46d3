"""Fault injection: a short `keras-vit train` run killed with SIGKILL at random moments, then run again.

    PYTHONPATH=$PWD KERAS_BACKEND=jax python benchmarks/fault_injection.py --kills 50

Each trial starts the same tiny training command (a 1-block ViT, 80 Fashion-MNIST images of the embedded
subset, 16 of them held out for validation, 4 steps per epoch) in a fresh folder, kills it with SIGKILL after a random delay, then runs the same
command again until it exits. Each kill comes a random delay after the run's own first epoch backup
(`--window run`: after it has loaded its data; before that it writes nothing), uniform up to the time an
uninterrupted run (measured first, twice, keeping the warm second run) takes from that moment to its exit:
the part of a run that writes files (epochs, backups, best model, final saves). The
rerun finished correctly when it exits 0 and the folder holds what an uninterrupted run leaves
(`run_problems`): exactly its files, every epoch once in `history.csv` and `history.json`, a
`result.json` whose validation accuracy is the last epoch's, and `model.keras` and `best.keras` that load with
finite weights. Prints one line per trial (where the kill landed, and the problems if any), then how
many reruns finished correctly.
"""

import argparse
import csv
import json
import os
import pathlib
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
FINAL_FILES = {"model.keras", "best.keras", "history.csv", "history.json", "config.json", "result.json"}
TINY_MODEL = dict(patch_size=7, dim=32, depth=1, num_heads=2, mlp_dim=64)
NUM_TRAIN, NUM_TEST, VALIDATION_SPLIT = 80, 128, 0.2
NOT_KILLED = "after exit (not killed)"


def train_command(data_dir, output_dir, epochs, batch_size=16):
    """The `keras-vit train` command of one trial."""
    overrides = [f"--set={key}={value}" for key, value in TINY_MODEL.items()]
    return [
        sys.executable, "-m", "keras_vit.cli", "train", "--data", "fashion_mnist_idx", "--data-dir", str(data_dir),
        "--output-dir", str(output_dir), "--epochs", str(epochs), "--batch-size", str(batch_size),
        "--warmup-epochs", "1", "--validation-split", str(VALIDATION_SPLIT), "--augment", "none", "--no-tensorboard",
        "--verbose", "0", *overrides,
    ]  # fmt: skip


def environment():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def write_tiny_data(folder):
    """The first NUM_TRAIN / NUM_TEST images of the embedded Fashion-MNIST subset, as IDX files."""
    from keras_vit.data import load_default, write_idx
    from keras_vit.data.idx import FASHION_MNIST_FILES

    (x_train, y_train), (x_test, y_test) = load_default()
    arrays = dict(x_train=x_train[:NUM_TRAIN], y_train=y_train[:NUM_TRAIN], x_test=x_test[:NUM_TEST],
                  y_test=y_test[:NUM_TEST])  # fmt: skip
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in FASHION_MNIST_FILES.items():
        write_idx(folder / f"{name}.gz", arrays[key].astype("uint8"))
    return folder


def _epochs_in_csv(path):
    with open(path, newline="") as file:
        return [int(row["epoch"]) for row in csv.DictReader(file)]


def _finite_model(path):
    import keras

    from keras_vit.models import load_model

    model = load_model(path)
    return all(np.isfinite(keras.ops.convert_to_numpy(weight)).all() for weight in model.weights)


def run_problems(output_dir, epochs):
    """What differs in the finished run in `output_dir` from what an uninterrupted run of `epochs` epochs
    leaves; [] when nothing does."""
    output_dir = pathlib.Path(output_dir)
    names = {path.name for path in output_dir.iterdir()}
    problems = []
    if names != FINAL_FILES:
        problems.append(f"files: missing {sorted(FINAL_FILES - names)}, left over {sorted(names - FINAL_FILES)}")
    expected = list(range(epochs))
    try:
        if _epochs_in_csv(output_dir / "history.csv") != expected:
            problems.append(f"history.csv epochs {_epochs_in_csv(output_dir / 'history.csv')}")
        history = json.loads((output_dir / "history.json").read_text())
        if [row["epoch"] for row in history] != expected:
            problems.append(f"history.json epochs {[row['epoch'] for row in history]}")
        if not all(np.isfinite(value) for row in history for value in row.values()):
            problems.append("history.json holds non-finite values")
        result = json.loads((output_dir / "result.json").read_text())
        if abs(result["validation_accuracy"] - history[-1]["val_accuracy"]) > 1e-4:
            problems.append(f"result.json validation_accuracy {result['validation_accuracy']} is not the last "
                            f"epoch's val_accuracy {history[-1]['val_accuracy']}")  # fmt: skip
        for name in ("model.keras", "best.keras"):
            if not _finite_model(output_dir / name):
                problems.append(f"{name} has non-finite weights")
    except (OSError, ValueError, KeyError, IndexError) as error:
        problems.append(f"{type(error).__name__}: {error}")
    return problems


def landing(output_dir, epochs):
    """Where a kill landed, read from what the run folder holds after it."""
    output_dir = pathlib.Path(output_dir)
    if (output_dir / "result.json").exists():
        return "after result.json"
    if (output_dir / "model.keras").exists() or any(output_dir.glob(".partial.model.keras")):
        return "final saves"
    state = output_dir / "backup" / "state.json"
    if state.exists():
        done = json.loads(state.read_text())["epoch"]
        return "final saves" if done == epochs else f"training ({done} epoch(s) backed up)"
    return "epoch 1 (nothing backed up yet)" if output_dir.exists() else "startup"


def _watch(command, output_dir, kill_after=None, window="epochs"):
    """Run `command`, polling its output and `output_dir` every 2 ms; with `kill_after`, SIGKILL it that many
    seconds after its `window`'s start (`"epochs"`: its first epoch backup committed; `"run"`: its
    `keras_vit: ` line printed, i.e. its config checked and data loaded). Returns the seconds from its start
    to `ready` (that line), `first_backup`, `last_backup` and `end` (exit or kill), and `killed`."""
    state = pathlib.Path(output_dir) / "backup" / "state.json"
    marks = dict(ready=None, first_backup=None, last_backup=None, killed=False)
    seen = None
    with tempfile.TemporaryFile("w+") as log:
        start = time.perf_counter()
        process = subprocess.Popen(command, env=environment(), stdout=log, stderr=subprocess.DEVNULL, text=True)
        while process.poll() is None:
            now = time.perf_counter() - start
            if marks["ready"] is None:
                log.seek(0)
                marks["ready"] = now if "keras_vit: " in log.read() else None
            try:
                stamp = state.stat().st_mtime_ns
            except OSError:
                stamp = None
            if stamp is not None and stamp != seen:
                marks["first_backup"], marks["last_backup"], seen = marks["first_backup"] or now, now, stamp
            anchor = marks["first_backup" if window == "epochs" else "ready"]
            if kill_after is not None and anchor is not None and now >= anchor + kill_after:
                process.send_signal(signal.SIGKILL)
                process.wait()
                marks["killed"] = True
                break
            time.sleep(0.002)
        marks["end"] = time.perf_counter() - start
        marks["returncode"] = process.returncode
    return marks


def trial(command, output_dir, delay, epochs, window, timeout=600):
    """One kill `delay` seconds into `window` (see `_watch`) and one rerun; `(where the kill landed, problems)`."""
    marks = _watch(command, output_dir, delay, window)
    where = landing(output_dir, epochs) if marks["killed"] else NOT_KILLED
    rerun = subprocess.run(command, env=environment(), capture_output=True, text=True, timeout=timeout)
    if rerun.returncode != 0:
        return where, [f"rerun exited {rerun.returncode}: {rerun.stderr.strip().splitlines()[-1:]}"]
    return where, run_problems(output_dir, epochs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=50, help="trials, one random kill each (default 50)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="seeds the kill times")
    parser.add_argument(
        "--window", choices=("epochs", "run"), default="epochs",
        help="kill each run uniformly between its first epoch backup and the end of the uninterrupted run (epochs, "
        "default), or between the loading of its data and the end (run: for a run this small, mostly model "
        "building, compilation and the first epoch)",
    )  # fmt: skip
    parser.add_argument("--workdir", help="where to run (default: a temporary folder, deleted after)")
    args = parser.parse_args(argv)

    workdir = pathlib.Path(args.workdir or tempfile.mkdtemp(prefix="fault_injection."))
    data_dir = write_tiny_data(workdir / "data")
    # Twice: the first run also fills caches (compiled code, imported files) that later runs find warm.
    for attempt in range(2):
        reference = workdir / f"uninterrupted_{attempt}"
        shutil.rmtree(reference, ignore_errors=True)
        times = _watch(train_command(data_dir, reference, args.epochs), reference)
        problems = run_problems(reference, args.epochs) if times["returncode"] == 0 else [f"exit {times['returncode']}"]
        if problems:
            raise SystemExit(f"The uninterrupted run itself is not as expected: {problems}")
    anchor = times["first_backup" if args.window == "epochs" else "ready"]
    length = times["end"] - anchor
    print(f"backend {os.environ.get('KERAS_BACKEND', 'tensorflow')}; uninterrupted run: data loaded after "
          f"{times['ready']:.1f} s, epoch backups from {times['first_backup']:.2f} to {times['last_backup']:.2f} s, "
          f"exit at {times['end']:.2f} s; {args.kills} trials, each killed uniformly within {length:.2f} s after "
          f"{'its first epoch backup' if args.window == 'epochs' else 'its data is loaded'}", flush=True)  # fmt: skip

    rng = random.Random(args.seed)
    correct, landings = 0, {}
    for index in range(args.kills):
        output_dir = workdir / f"trial_{index}"
        shutil.rmtree(output_dir, ignore_errors=True)
        delay = rng.uniform(0.0, length)
        where, problems = trial(train_command(data_dir, output_dir, args.epochs), output_dir, delay, args.epochs,
                                args.window)  # fmt: skip
        correct += not problems
        landings.setdefault(where, [0, 0])
        landings[where][0] += 1
        landings[where][1] += not problems
        print(f"trial {index:3d}: kill {delay:5.2f} s in, {where}: {'ok' if not problems else problems}", flush=True)
        shutil.rmtree(output_dir, ignore_errors=True)
    for where, (count, ok) in sorted(landings.items()):
        print(f"  {where}: {ok}/{count} finished correctly")
    killed = args.kills - landings.get(NOT_KILLED, [0])[0]
    print(f"{correct}/{args.kills} reruns finished correctly ({killed} of the kills hit a running process)")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if correct == args.kills else 1


if __name__ == "__main__":
    sys.exit(main())
