"""What a run finds in its folder: a finished run (reported, not trained again, unless `overwrite`), an
interrupted one (resumed from its backup, whose damage is repaired from the backup before it or named
with what to do), or a backup of another model (refused before anything is loaded)."""

import json
import pathlib
import shutil

import keras
import numpy as np
import pytest

from tiny_training import TINY_MODEL, Interrupted, InterruptAt, tiny_config

from keras_vit.training import train


class EpochCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def interrupted_run(config, after_epochs):
    """Run `config` until `after_epochs` epochs are backed up, then stop it as a kill would; its backup state."""
    with pytest.raises(Interrupted):
        train(config, callbacks=[InterruptAt(after_epochs)])
    return json.loads(pathlib.Path(config.run_dir, "backup", "state.json").read_text())


def test_a_finished_run_is_reported_not_trained_again(tiny_idx_dir, tmp_path, capsys):
    config = tiny_config(tiny_idx_dir, tmp_path, epochs=1)
    first = train(config)
    counter = EpochCounter()
    again = train(config, callbacks=[counter])
    assert counter.epochs == []  # nothing trained
    assert "holds a finished run of this config (test_accuracy" in capsys.readouterr().out
    assert again.test_accuracy == first.test_accuracy and again.history == first.history
    images = np.zeros((1, 28, 28, 1))
    np.testing.assert_allclose(again.model.predict(images, verbose=0), first.model.predict(images, verbose=0), atol=1e-6)

    # Another config in the same folder is refused; overwrite=True trains again from scratch.
    with pytest.raises(ValueError, match="holds a finished run of a different config .* pass overwrite=True"):
        train(config.replace(epochs=2))
    retrained = train(config.replace(epochs=2, overwrite=True), callbacks=[counter])
    assert counter.epochs == [0, 1] and [row["epoch"] for row in retrained.history] == [0, 1]


def test_interrupted_runs_resume_only_with_the_same_config_or_start_over(tiny_idx_dir, tmp_path):
    config = tiny_config(tiny_idx_dir, tmp_path)
    interrupted_run(config, after_epochs=1)
    with pytest.raises(ValueError, match="holds an interrupted run of a different config .* pass overwrite=True"):
        train(config.replace(epochs=4))
    # `overwrite` is not part of the config a run is identified by: started with it, a run resumes without it.
    assert "overwrite" not in json.loads((tmp_path / "config.json").read_text())
    counter = EpochCounter()
    train(config.replace(overwrite=True), callbacks=[counter])
    assert counter.epochs == [0, 1, 2]


def test_a_damaged_last_backup_resumes_from_the_one_before(tiny_idx_dir, tmp_path, capsys):
    config = tiny_config(tiny_idx_dir, tmp_path)
    state = interrupted_run(config, after_epochs=2)
    weights = tmp_path / "backup" / state["weights"]["file"]
    weights.write_bytes(weights.read_bytes()[:1000])  # as a torn write or a bad disk would leave it
    counter = EpochCounter()
    result = train(config, callbacks=[counter])
    assert f"The backup weights {weights} are damaged" in capsys.readouterr().out
    assert counter.epochs == [1, 2]  # from the backup of epoch 1
    assert [row["epoch"] for row in result.history] == [0, 1, 2]


def test_a_backup_damaged_beyond_repair_is_named_with_what_to_do(tiny_idx_dir, tmp_path):
    config = tiny_config(tiny_idx_dir, tmp_path)
    state = interrupted_run(config, after_epochs=2)
    for kept in (state, state["previous"]):
        (tmp_path / "backup" / kept["weights"]["file"]).write_bytes(b"")
    with pytest.raises(ValueError, match=r"backup weights .*epoch-2\.weights\.h5 are damaged .* no intact earlier backup "
                                         r"is left\. Delete .*backup to start this run over \(its 2 finished epoch"):
        train(config)

    (tmp_path / "backup" / "state.json").write_text('{"epoch": 2, "hist')
    with pytest.raises(ValueError, match=r"The backup state .*state\.json is damaged .*Delete .*backup to start"):
        train(config)


def test_a_backup_of_another_model_is_refused_before_loading_anything(tiny_idx_dir, tmp_path):
    other = tiny_config(tiny_idx_dir, tmp_path / "other", model_overrides=dict(TINY_MODEL, dim=48))
    interrupted_run(other, after_epochs=1)
    config = tiny_config(tiny_idx_dir, tmp_path / "run")
    interrupted_run(config, after_epochs=1)
    shutil.rmtree(tmp_path / "run" / "backup")
    shutil.copytree(tmp_path / "other" / "backup", tmp_path / "run" / "backup")  # the other model's, under this config
    with pytest.raises(ValueError, match=r"holds the variables of another model \(\S+ is float32 \([\d, ]*48\), where "
                                         r"this run has \S+ float32 \([\d, ]*32\)\); it was not loaded\. Delete"):
        train(config)


def test_a_backup_killed_before_its_first_commit_is_a_fresh_start(tiny_idx_dir, tmp_path):
    config = tiny_config(tiny_idx_dir, tmp_path, epochs=1)
    (tmp_path / "backup").mkdir(parents=True)
    (tmp_path / "backup" / ".partial.epoch-1.weights.h5").write_bytes(b"torn")
    counter = EpochCounter()
    train(config, callbacks=[counter])
    assert counter.epochs == [0]


def test_a_keras_backup_and_restore_folder_is_named(tiny_idx_dir, tmp_path):
    config = tiny_config(tiny_idx_dir, tmp_path)
    (tmp_path / "backup").mkdir(parents=True)
    (tmp_path / "backup" / "training_metadata.json").write_text('{"epoch": 1, "batch": 0}')
    with pytest.raises(ValueError, match="holds a backup in Keras BackupAndRestore's format"):
        train(config)
