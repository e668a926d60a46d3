"""The files of a run directory, and what a run finds there when it starts: nothing, an interrupted run
to resume (its backup), or a finished run (its `result.json`).

A run writes `config.json` first, then after every epoch its backup, `history.csv` and `best.keras`
(see `keras_vit.training.backup`), and when training ends `model.keras`, `best.keras`, `history.csv`,
`history.json` and, last, `result.json`; only then is the backup deleted. Every file is written
atomically, so a kill at any moment leaves each file whole, and a rerun of the same config resumes, or
reports the run finished.
"""

import csv
import dataclasses
import io
import json
import pathlib
import shutil

from keras_vit import files

RESULT = "result.json"
CONFIG = "config.json"
# What a run writes into its folder, in the order `clear_run` deletes it (result.json first: a run
# whose deletion is interrupted is then no longer taken for finished).
RUN_FILES = (RESULT, "backup", "model.keras", "best.keras", "history.csv", "history.json", "tensorboard", CONFIG)


def history_csv(output_dir):
    return pathlib.Path(output_dir) / "history.csv"


def backup_dir(output_dir):
    return pathlib.Path(output_dir) / "backup"


def best_path(output_dir):
    return pathlib.Path(output_dir) / "best.keras"


def read_history(output_dir):
    """The rows of `history.csv` as dicts of floats (`epoch` as int); [] when there is none."""
    path = history_csv(output_dir)
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return [
            {key: int(value) if key == "epoch" else float(value) for key, value in row.items()}
            for row in csv.DictReader(f)
        ]


def write_history_csv(output_dir, rows):
    """`history.csv` (atomically): one row per epoch, `epoch` then the logged values in name order, as
    Keras' `CSVLogger` writes it; no file for no rows."""
    path = history_csv(output_dir)
    if not rows:
        path.unlink(missing_ok=True)
        return
    names = ["epoch"] + sorted({key for row in rows for key in row} - {"epoch"})
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    files.write_text(path, text.getvalue())


@dataclasses.dataclass
class RunStart:
    """What `prepare_run_dir` found: `finished`, the `result.json` figures of a finished run of the same
    config (None otherwise); `state`, the backup state of an interrupted one to resume (None: start at
    epoch 0)."""

    finished: dict = None
    state: dict = None

    @property
    def epochs_done(self):
        return self.state["epoch"] if self.state else 0


def read_result(output_dir):
    """The figures in `result.json`, or None when there is none (a run that has not finished)."""
    path = pathlib.Path(output_dir) / RESULT
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(
            f"{path} is damaged ({error}); train again with overwrite=True (--overwrite) to replace the run."
        ) from None


def clear_run(output_dir):
    """Delete what a run wrote into `output_dir` (and nothing else there)."""
    output_dir = pathlib.Path(output_dir)
    for name in RUN_FILES:
        path = output_dir / name
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    files.remove_partial_files(output_dir)


def check_run_dir(output_dir, config_json):
    """`(recorded config text, result figures)` of `output_dir` (each None when absent), found without
    writing anything; a `ValueError` when it holds a finished or interrupted run of a config other than
    `config_json`, which `prepare_run_dir` would refuse (so that a script running several configs can
    check them all before it trains any)."""
    from keras_vit.training.backup import Backup  # backup.py uses this module's paths

    output_dir = pathlib.Path(output_dir)
    config_path = output_dir / CONFIG
    recorded = config_path.read_text() if config_path.is_file() else None
    finished = read_result(output_dir)
    if (finished is not None or Backup(output_dir).state_path.exists()) and recorded != config_json:
        kind = "a finished run" if finished is not None else "an interrupted run"
        raise ValueError(
            f"{output_dir} holds {kind} of a different config (see its config.json); pass overwrite=True "
            f"(--overwrite) to replace it, or choose another output_dir."
        )
    return recorded, finished


def prepare_run_dir(output_dir, config_json, overwrite=False):
    """Get `output_dir` ready for a run of the config `config_json` and return a `RunStart`.

    - `overwrite`: whatever run is there is deleted first (`clear_run`); the run starts over.
    - A finished run (a `result.json`) of the same config: `RunStart(finished=...)`, nothing is trained
      (a leftover backup of it is deleted); of another config: an error.
    - An interrupted run (a committed backup) of the same config: `RunStart(state=...)`, to resume after
      its last backed-up epoch (see `Backup.read` for damaged backups); of another config: an error.
    - Else a fresh start. `config.json` is written, and `history.csv` made to hold exactly the epochs
      the backup holds (none for a fresh start).
    """
    from keras_vit.training.backup import Backup  # backup.py uses this module's paths

    output_dir = pathlib.Path(output_dir)
    if overwrite:
        clear_run(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    files.remove_partial_files(output_dir)
    recorded, finished = check_run_dir(output_dir, config_json)
    backup = Backup(output_dir)
    if finished is not None:
        backup.delete()  # a run killed after writing result.json, before deleting its backup
        return RunStart(finished=finished)
    state = backup.read()
    if recorded != config_json:
        files.write_text(output_dir / CONFIG, config_json)
    write_history_csv(output_dir, state["history"] if state else [])
    return RunStart(state=state)
