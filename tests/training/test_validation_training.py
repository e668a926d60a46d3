"""What `train()` does with the validation split: every epoch is validated on it, `best.keras` is chosen
on it, the test split is read once, at the end; without one there is no `best.keras`. A flat image folder
trains with its class names on the model."""

import json

import keras
import numpy as np
import pytest

from tiny_training import NUM_TEST, NUM_TRAIN, VALIDATION_SPLIT, tiny_config

from keras_vit.training import train

NUM_VALIDATION = round(NUM_TRAIN * VALIDATION_SPLIT)


def examples(dataset):
    return sum(int(keras.ops.shape(labels)[0]) for _, labels in dataset)


@pytest.fixture
def evaluated(monkeypatch):
    """The datasets `keras.Model.evaluate` is called on, in order (also by `fit` for its validation)."""
    calls = []
    evaluate = keras.Model.evaluate

    def recording(self, x=None, *args, **kwargs):
        calls.append(x)
        return evaluate(self, x, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "evaluate", recording)
    return calls


def test_best_model_is_chosen_on_the_validation_split_and_the_test_split_is_read_once(
    tiny_idx_dir, tmp_path, evaluated
):
    from keras_vit.data import get_datasets

    config = tiny_config(tiny_idx_dir, tmp_path, epochs=4)
    result = train(config)

    # One validation pass per epoch, then the final model on the validation split, then the test split once.
    assert [examples(dataset) for dataset in evaluated] == [NUM_VALIDATION] * 4 + [NUM_VALIDATION, NUM_TEST]
    accuracies = [row["val_accuracy"] for row in result.history]
    assert result.best_epoch == int(np.argmax(accuracies))
    assert result.best_validation_accuracy == pytest.approx(max(accuracies))
    # best.keras is that epoch's model: its accuracy on the validation split (the same split again, drawn
    # with the run's seed) is the one recorded.
    _, validation, _, _ = get_datasets(config.data, batch_size=64, data_dir=config.data_dir,
                                       validation_split=VALIDATION_SPLIT, seed=config.seed)  # fmt: skip
    best = keras.saving.load_model(tmp_path / "best.keras", compile=False)
    best.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    assert best.evaluate(validation, verbose=0)[1] == pytest.approx(result.best_validation_accuracy)
    recorded = json.loads((tmp_path / "result.json").read_text())
    assert recorded["best_epoch"] == result.best_epoch and recorded["test_accuracy"] == result.test_accuracy


def test_without_a_validation_split_nothing_is_selected(tiny_idx_dir, tmp_path, evaluated):
    result = train(tiny_config(tiny_idx_dir, tmp_path, validation_split=0, epochs=2))
    assert [examples(dataset) for dataset in evaluated] == [NUM_TEST]  # the test split, once, and nothing else
    assert not any(key.startswith("val_") for row in result.history for key in row)
    assert result.validation_accuracy is None and result.best_epoch is None
    assert not (tmp_path / "best.keras").exists() and (tmp_path / "model.keras").exists()


def write_flat_folder(root, per_class=12):
    """`root/<class>/*.png`: the first `per_class` images of three classes of the embedded Fashion-MNIST."""
    import tensorflow as tf

    from keras_vit.data import load_default

    (images, labels), _ = load_default()
    for label, name in ((1, "trouser"), (7, "sneaker"), (8, "bag")):
        (root / name).mkdir(parents=True)
        for index, image in enumerate(images[labels == label][:per_class]):
            (root / name / f"{index}.png").write_bytes(tf.io.encode_png(image).numpy())
    return root


def test_flat_image_folder_trains_with_its_class_names_on_the_model(tmp_path, evaluated):
    data = write_flat_folder(tmp_path / "data")
    config = tiny_config(data, tmp_path / "run", data="folder", test_split=0.25, epochs=1, batch_size=8)
    result = train(config)
    # 9 of the 36 images are test, a fifth of the other 27 (5) validation: the epoch's and the final
    # validation, then the test.
    assert [examples(dataset) for dataset in evaluated] == [5, 5, 9]
    assert json.loads((tmp_path / "run" / "result.json").read_text())["best_epoch"] == 0
    assert result.model.class_names == ["bag", "sneaker", "trouser"]
    for name in ("model.keras", "best.keras"):
        saved = keras.saving.load_model(tmp_path / "run" / name, compile=False)
        assert saved.class_names == ["bag", "sneaker", "trouser"]
