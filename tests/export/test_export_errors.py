"""Bad requests are clear errors raised before any work or file is written."""

import numpy as np
import pytest

import keras_vit


@pytest.fixture
def model(tiny):
    return keras_vit.build_vit(num_classes=10, **tiny)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(format="tflite_int8"), r"Unknown export format 'tflite_int8'\. Valid formats: saved_model, tflite, onnx"),
        (dict(format="tflite", quantize="int4"), r"Unknown quantize='int4'\. Valid values: None .*'float16', 'dynamic', 'int8'"),
        (dict(format="onnx", quantize="float16"), r"applies to format='tflite' only; got format='onnx'"),
        (dict(format="tflite", quantize="int8"), r"quantize='int8' calibrates .* pass representative_data"),
        (dict(format="tflite", quantize="int8", representative_data=np.zeros((4, 16, 16, 1))),
         r"representative_data must be images shaped \(N, 16, 16, 3\); got \(4, 16, 16, 1\)"),
        (dict(format="tflite", verify_data=np.zeros((4, 16, 16))),
         r"verify_data must be images shaped \(N, 16, 16, 3\); got \(4, 16, 16\)"),
        # Calibrating on images scaled to [0, 1] used to fail only after conversion, blaming quantization.
        (dict(format="tflite", quantize="int8", representative_data=np.random.default_rng(0).uniform(0, 1, (4, 16, 16, 3))),
         r"representative_data have values in \[0\.\d+, 0\.\d+\]: they look scaled to \[0, 1\], but model .* takes raw "
         r"pixels in \[0, 255\]"),
        (dict(format="onnx", verify_data=np.zeros((4, 3, 16, 16))),
         r"verify_data for model .* got images of shape \(4, 3, 16, 16\), which looks channels-first \(B, C, H, W\)"),
    ],
    ids=["format", "quantize", "quantize-not-tflite", "int8-without-data", "data-shape", "verify-data-shape",
         "data-scaled-to-0-1", "data-channels-first"],
)
def test_bad_request_is_refused_before_any_work(model, tmp_path, kwargs, message):
    suffix = ".onnx" if kwargs["format"] == "onnx" else ".tflite"
    with pytest.raises(ValueError, match=message):
        keras_vit.export(model, tmp_path / f"model{suffix}", **kwargs)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("format, name", [("tflite", "model.onnx"), ("onnx", "model.tflite")])
def test_path_must_carry_the_format_suffix(model, tmp_path, format, name):
    with pytest.raises(ValueError, match=f"A {format} export is a '.{format}' file"):
        keras_vit.export(model, tmp_path / name, format=format)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("format, name", [("saved_model", "model"), ("tflite", "model.tflite")])
def test_existing_path_is_never_overwritten_silently(model, tmp_path, format, name):
    path = tmp_path / name
    path.mkdir() if format == "saved_model" else path.write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match="already exists; pass overwrite=True"):
        keras_vit.export(model, path, format=format)
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert path.is_dir() if format == "saved_model" else path.read_bytes() == b"keep me"
