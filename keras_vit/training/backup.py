"""The backup of an unfinished run, `output_dir/backup/`: what an interrupted or diverged run resumes from.

After every epoch `RunCheckpoint` writes, each file atomically (`keras_vit.files.atomic_path`):
    `epoch-<N>.weights.h5`  the model's and the optimizer's variables after N epochs (`save_weights`);
    `best-<E>.keras`        the model of the best epoch so far (E, 0-based), when this epoch is it;
    `state.json`            the commit: `epoch` N, the `history` rows of epochs 0..N-1, the `weights`
                            file with its SHA-256, the `best` file with its epoch and `val_accuracy`,
                            the `variables` (shape, dtype) the weights hold, and the `previous` state.
Then the run folder's `history.csv` and `best.keras` are refreshed from it, and files that neither the
state nor its previous one refer to are deleted. A kill at any moment leaves the last committed state
and every file it names intact; the previous state is the fallback when a file of the last one is damaged.

Why not Keras' `BackupAndRestore`, `CSVLogger` and `ModelCheckpoint`: `BackupAndRestore` rewrites its
weights file in place (a kill mid-write leaves it truncated, and every rerun then fails in h5py naming no
file) and its `double_checkpoint` copy is not atomic either; the three write three files at different
moments, so a kill between them leaves a history, a best model and a backup that disagree; and
`BackupAndRestore` deletes the backup when `fit` ends, before the run's final files exist.
"""

import json
import os
import pathlib
import shutil

import keras

from keras_vit import files
from keras_vit.training.run_dir import backup_dir, best_path, write_history_csv

STATE = "state.json"
# What BackupAndRestore wrote there (keras_vit up to 0.2.0).
KERAS_BACKUP_FILES = ("training_metadata.json", "latest.weights.h5")


def variables_of(model):
    """`[path, shape, dtype]` of every variable `save_weights` writes: the model's, then the optimizer's."""
    optimizer = getattr(model, "optimizer", None)
    variables = list(model.weights) + (list(optimizer.variables) if optimizer is not None else [])
    return [[variable.path, list(variable.shape), str(variable.dtype)] for variable in variables]


class Backup:
    """The backup folder of the run in `output_dir`."""

    def __init__(self, output_dir):
        self.output_dir = pathlib.Path(output_dir)
        self.folder = pathlib.Path(backup_dir(output_dir))
        self.state_path = self.folder / STATE

    def exists(self):
        return self.folder.exists()

    def read(self):
        """The state to resume from, or None when nothing was committed (no backup, or a backup killed
        before its first commit, which is then deleted).

        The last committed state when its files are intact, else the previous one (with a warning);
        an error naming the damaged file and what to do when neither is.
        """
        if not self.folder.is_dir():
            return None
        if any((self.folder / name).exists() for name in KERAS_BACKUP_FILES):
            raise ValueError(
                f"{self.folder} holds a backup in Keras BackupAndRestore's format (written by an earlier keras_vit), "
                f"which this version does not resume; delete {self.folder} to start this run over."
            )
        if not self.state_path.exists():
            self.delete()  # killed before the first epoch was committed: nothing to resume
            return None
        try:
            state = json.loads(self.state_path.read_text())
            missing = [key for key in ("epoch", "history", "weights") if key not in state]
            if missing:
                raise KeyError(f"no {', '.join(missing)}")
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ValueError(
                f"The backup state {self.state_path} is damaged ({type(error).__name__}: {error}). Delete "
                f"{self.folder} to start this run over (its finished epochs are lost), or restore the file."
            ) from None
        files.remove_partial_files(self.folder)
        damage = self._damage(state)
        if damage is None:
            return state
        previous = state.get("previous")
        if previous is not None and self._damage(previous) is None:
            print(f"keras_vit: {damage}; resuming from the backup before it (epoch {previous['epoch']}).", flush=True)
            return previous
        raise ValueError(
            f"{damage}, and no intact earlier backup is left. Delete {self.folder} to start this run over (its "
            f"{state['epoch']} finished epoch(s) are lost), or restore the file."
        )

    def _damage(self, state):
        """What is wrong with the files `state` names, or None when all are intact."""
        path = self.folder / state["weights"]["file"]
        if not path.is_file():
            return f"The backup weights {path} are missing"
        if files.sha256(path) != state["weights"]["sha256"]:
            return f"The backup weights {path} are damaged (their checksum differs from the one recorded)"
        best = state.get("best")
        if best is not None and not (self.folder / best["file"]).is_file():
            return f"The backup's best model {self.folder / best['file']} is missing"
        return None

    def restore(self, model, state):
        """Load `state`'s weights into the compiled `model` (and its optimizer); raise before loading
        anything when they are the variables of another model."""
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)  # its variables must exist to be loaded
        ours, saved = variables_of(model), state.get("variables")
        if saved is not None and [v[1:] for v in ours] != [v[1:] for v in saved]:
            raise ValueError(
                f"The backup in {self.folder} holds the variables of another model "
                f"({_first_difference(saved, ours)}); it was not loaded. Delete {self.folder} to start this run "
                "over, or choose another output_dir."
            )
        path = self.folder / state["weights"]["file"]
        try:
            model.load_weights(path)
        except (OSError, ValueError) as error:
            raise ValueError(f"The backup weights {path} cannot be loaded ({error}). Delete {self.folder} to start "
                             "this run over.") from None

    def commit(self, model, epoch, history, best, previous=None):
        """Back up `model` after `epoch` finished epochs with `history` and `best`, keeping `previous` (the
        state it continued from, None for the first epoch) as the fallback; returns the new state."""
        self.folder.mkdir(parents=True, exist_ok=True)
        weights = self.folder / f"epoch-{epoch}.weights.h5"
        with files.atomic_path(weights) as temporary:
            model.save_weights(temporary)
        state = dict(
            epoch=epoch,
            history=history,
            weights=dict(file=weights.name, sha256=files.sha256(weights)),
            best=best,
            variables=variables_of(model),
        )
        if previous is not None:
            state["previous"] = {key: value for key, value in previous.items() if key != "previous"}
        files.write_json(self.state_path, state)
        self._prune(state)
        return state

    def save_best(self, model, epoch):
        """Save `model` as the best so far (epoch `epoch`, 0-based); returns its file name."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"best-{epoch}.keras"
        with files.atomic_path(path) as temporary:
            model.save(temporary)
        return path.name

    def publish_best(self, state):
        """Make `best.keras` in the run folder the best model `state` names (a link or an atomic copy)."""
        if state.get("best") is not None:
            files.link_or_copy(self.folder / state["best"]["file"], best_path(self.output_dir))

    def delete(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    def _prune(self, state):
        keep = {STATE}
        for kept in (state, state.get("previous") or {}):
            keep.add((kept.get("weights") or {}).get("file"))
            keep.add((kept.get("best") or {}).get("file"))
        for path in self.folder.iterdir():
            if path.name not in keep:
                os.remove(path) if path.is_file() else shutil.rmtree(path, ignore_errors=True)


def _first_difference(saved, ours):
    if len(saved) != len(ours):
        return f"{len(saved)} variables, where this run's model and optimizer have {len(ours)}"
    for (path, shape, dtype), (our_path, our_shape, our_dtype) in zip(saved, ours):
        if (shape, dtype) != (our_shape, our_dtype):
            return f"{path} is {dtype} {tuple(shape)}, where this run has {our_path} {our_dtype} {tuple(our_shape)}"
    return "same shapes"


class RunCheckpoint(keras.callbacks.Callback):
    """At the end of each epoch: the best model when this epoch is the best so far (highest
    `val_accuracy`, on the validation split; no best model without one), then the backup's commit (see
    the module), then the run folder's `history.csv` and `best.keras` refreshed from it. Runs after the divergence check, so a diverged epoch writes nothing."""

    def __init__(self, backup, state=None):
        super().__init__()
        self.backup = backup
        self.state = state or dict(epoch=0, history=[], best=None)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        history = self.state["history"] + [{"epoch": epoch, **logs}]
        best = self.state.get("best")
        accuracy = logs.get("val_accuracy")
        improved = accuracy is not None and (best is None or accuracy > best["val_accuracy"])
        if improved:
            best = dict(epoch=epoch, file=self.backup.save_best(self.model, epoch), val_accuracy=float(accuracy))
        previous = self.state if self.state.get("weights") else None  # the state this run continued from
        self.state = self.backup.commit(self.model, epoch + 1, history, best, previous)
        write_history_csv(self.backup.output_dir, history)
        if improved:
            self.backup.publish_best(self.state)
