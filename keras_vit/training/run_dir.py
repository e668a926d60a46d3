"""The files of a run directory, and what it takes to resume an interrupted run there."""

import csv
import json
import os


def history_csv(output_dir):
    return os.path.join(output_dir, "history.csv")


def backup_dir(output_dir):
    return os.path.join(output_dir, "backup")


def read_history(output_dir):
    """The rows of `history.csv` as dicts of floats (`epoch` as int); [] when there is none."""
    return [
        {key: int(value) if key == "epoch" else float(value) for key, value in row.items()}
        for row in _read_csv(history_csv(output_dir))
    ]


def prepare_run_dir(output_dir, config_json):
    """Create `output_dir` for a run of the config `config_json` (written to `config.json`) and
    return `(epochs_done, best_val_accuracy)` of the interrupted run found there, or `(0, None)`.

    Resuming needs the same config: a backup of a different one is an error. Keeps
    `history.csv` consistent with the backup: a fresh run starts a new history, and rows of
    epochs the backup does not hold (killed after the CSV row, before the backup) are
    dropped, since those epochs will run again.
    """
    os.makedirs(output_dir, exist_ok=True)
    config_path = os.path.join(output_dir, "config.json")
    metadata = os.path.join(backup_dir(output_dir), "training_metadata.json")
    epochs_done = 0
    if os.path.exists(metadata):
        with open(config_path) as f:
            if f.read() != config_json:
                raise ValueError(
                    f"{output_dir} holds an interrupted run of a different config (see its config.json); "
                    f"choose another output_dir, or delete {backup_dir(output_dir)} to start over there."
                )
        with open(metadata) as f:
            epochs_done = json.load(f)["epoch"]
    with open(config_path, "w") as f:
        f.write(config_json)
    path = history_csv(output_dir)
    rows = [row for row in _read_csv(path) if int(row["epoch"]) < epochs_done]
    if rows:
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    elif os.path.exists(path):
        os.remove(path)
    best = max((float(row["val_accuracy"]) for row in rows if "val_accuracy" in row), default=None)
    return epochs_done, best


def _read_csv(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
