"""`keras-vit export`."""

import re

import numpy as np
import pytest

from keras_vit import cli
from keras_vit.export import load_artifact
from keras_vit.export.cli import default_output


def test_cli_exports_a_keras_file(trained_model, fashion, tmp_path, capsys):
    model_path = tmp_path / "nano.keras"
    trained_model.save(model_path)
    images_path = tmp_path / "images.npy"
    np.save(images_path, fashion["check"])

    assert cli.main(["export", str(model_path), "--format", "onnx", "--representative-data", str(images_path)]) == 0

    assert f"onnx -> {tmp_path / 'nano.onnx'}" in capsys.readouterr().out
    outputs = load_artifact(tmp_path / "nano.onnx")(fashion["check"][:7])
    reference = trained_model.predict(fashion["check"][:7], verbose=0)
    np.testing.assert_allclose(outputs, reference, atol=1e-4)


def test_cli_rejects_unknown_format_listing_valid_ones(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["export", str(tmp_path / "m.keras"), "--format", "coreml"])
    error = capsys.readouterr().err
    assert re.search(r"invalid choice: 'coreml' \(choose from '?saved_model'?, '?tflite'?, '?onnx'?\)", error)


def test_default_output_names():
    assert str(default_output("runs/nano.keras", "saved_model")) == "runs/nano_saved_model"
    assert str(default_output("runs/nano.keras", "tflite", "int8")) == "runs/nano_int8.tflite"
    assert str(default_output("runs/nano.keras", "onnx")) == "runs/nano.onnx"
