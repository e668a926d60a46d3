"""train() builds the CNN baseline and trains a DeiT student against a saved teacher."""

import keras
import numpy as np
import pytest

from keras_vit.training import TrainConfig, train
from tiny_training import TINY_MODEL, tiny_config

CNN = dict(widths=(4, 8), blocks_per_stage=1)


def test_cnn_then_distilled_deit_through_train(tiny_idx_dir, tmp_path):
    cnn = train(tiny_config(tiny_idx_dir, tmp_path / "cnn", model="resnet", model_overrides=CNN, epochs=1))
    teacher_path = tmp_path / "cnn" / "model.keras"
    # A trained model reloads with its optimizer (keras_vit registers the AdamW it compiles with).
    reloaded = keras.saving.load_model(teacher_path)
    assert type(reloaded.optimizer).__name__ == "AdamW"
    teacher_weights = reloaded.get_weights()
    assert 0.0 <= cnn.test_accuracy <= 1.0

    deit = train(
        tiny_config(
            tiny_idx_dir, tmp_path / "deit", model="deit_nano_distilled_patch4_28", model_overrides=TINY_MODEL,
            teacher=str(teacher_path), distillation="soft", distillation_temperature=2.0, epochs=1,
        )
    )
    # Only the student is saved, and it reloads as the averaged two-head DeiT, with the data's class names.
    student = keras.saving.load_model(tmp_path / "deit" / "model.keras", compile=False)
    assert student.head_dist is not None and student.class_names == cnn.model.class_names
    assert student.class_names[:2] == ["T-shirt/top", "Trouser"]
    assert (tmp_path / "deit" / "best.keras").exists()
    images = np.random.default_rng(0).integers(0, 256, size=(4, 28, 28, 1)).astype("uint8")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(student(images)), keras.ops.convert_to_numpy(deit.model(images)), atol=1e-5
    )
    # The teacher file is untouched by distillation.
    for before, after in zip(teacher_weights, keras.saving.load_model(teacher_path, compile=False).get_weights()):
        np.testing.assert_array_equal(before, after)


def test_distillation_settings_are_checked_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="distillation must be one of 'hard', 'soft'; got 'kl'"):
        TrainConfig(distillation="kl")
    with pytest.raises(ValueError, match=r"distillation_alpha must be a number in \[0, 1\]; got 2"):
        TrainConfig(distillation_alpha=2)
    with pytest.raises(FileNotFoundError, match="Teacher model 'nowhere.keras' not found"):
        train(TrainConfig(teacher="nowhere.keras", output_dir=str(tmp_path / "run")))
    # A truncated teacher used to be reported by Keras as "File not found", after the data was loaded.
    (tmp_path / "teacher.keras").write_bytes(b"PK\x03\x04" + b"\x00" * 60)
    with pytest.raises(ValueError, match=r"Teacher model '.*teacher\.keras' is not a readable zip archive"):
        train(TrainConfig(teacher=str(tmp_path / "teacher.keras"), output_dir=str(tmp_path / "run")))
    assert not (tmp_path / "run").exists()
