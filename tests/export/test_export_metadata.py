"""Exports carry the model's class names and preprocessing: TFLite Metadata (read with the schema's own
generated reader), ONNX metadata_props, SavedModel assets, a labels file beside; a uint8 input on request."""

import json
import zipfile

import numpy as np
import pytest

import keras_vit
from keras_vit.data import FASHION_MNIST_CLASSES
from keras_vit.export import load_artifact, read_metadata


def standard_metadata_reader():
    """tflite-support's generated reader of metadata_schema.fbs (tests/run.sh installs the package without its
    dependencies: only this pure-Python module of it is used)."""
    try:
        from tensorflow_lite_support.metadata import metadata_schema_py_generated
    except ImportError:
        pytest.skip("tflite-support is not installed: `pip install --no-deps tflite-support` (tests/run.sh does)")
    return metadata_schema_py_generated


def tflite_metadata(path):
    from ai_edge_litert import schema_py_generated as schema

    schema_fb = standard_metadata_reader()
    data = open(path, "rb").read()
    model = schema.Model.GetRootAs(data, 0)
    (buffer,) = [model.Metadata(i).Buffer() for i in range(model.MetadataLength())
                 if model.Metadata(i).Name() == b"TFLITE_METADATA"]  # fmt: skip
    flatbuffer = model.Buffers(buffer).DataAsNumpy().tobytes()
    assert schema_fb.ModelMetadata.ModelMetadataBufferHasIdentifier(flatbuffer, 0)
    return schema_fb.ModelMetadataT.InitFromObj(schema_fb.ModelMetadata.GetRootAs(flatbuffer, 0))


def test_tflite_metadata_has_labels_image_properties_and_identity_normalization(exported, trained_model):
    path = exported("tflite").path
    metadata = tflite_metadata(path)
    (subgraph,) = metadata.subgraphMetadata
    (image,), (logits,) = subgraph.inputTensorMetadata, subgraph.outputTensorMetadata
    assert image.content.contentPropertiesType == 2 and image.content.contentProperties.colorSpace == 2  # image, gray
    (unit,) = image.processUnits
    # The model normalizes its raw pixels itself: a reader must feed them as they are.
    assert unit.optionsType == 1 and list(unit.options.mean) == [0.0] and list(unit.options.std) == [1.0]
    assert (list(image.stats.min), list(image.stats.max)) == ([0.0], [255.0])
    (labels_file,) = logits.associatedFiles
    assert (labels_file.name, labels_file.type) == (b"labels.txt", 2)  # TENSOR_AXIS_LABELS
    with zipfile.ZipFile(path) as files:
        assert files.read("labels.txt").decode().splitlines() == list(FASHION_MNIST_CLASSES)
        assert json.loads(files.read("keras_vit.json"))["input_normalization_inside"] == [[0.3], [0.35]]
    # The file still runs, and the labels file lies beside it.
    assert load_artifact(path)(np.zeros((1, 28, 28, 1))).shape == (1, 10)
    assert (path[: -len(".tflite")] + ".labels.txt") and open(path[: -len(".tflite")] + ".labels.txt").read() == (
        "".join(f"{name}\n" for name in FASHION_MNIST_CLASSES)
    )


@pytest.mark.parametrize("format", ["saved_model", "onnx", "tflite"])
def test_every_format_carries_class_names_and_preprocessing(exported, format):
    artifact = load_artifact(exported(format).path)
    assert artifact.class_names == list(FASHION_MNIST_CLASSES) and artifact.image_shape == (28, 28, 1)
    metadata = read_metadata(exported(format).path)
    assert metadata["input"] == "raw pixel values in [0, 255]" and metadata["input_dtype"] == "float32"


def test_onnx_metadata_props_hold_the_class_names(exported):
    import onnx

    props = {entry.key: entry.value for entry in onnx.load(exported("onnx").path).metadata_props}
    assert json.loads(props["class_names"]) == list(FASHION_MNIST_CLASSES)
    assert json.loads(props["keras_vit.json"])["image_shape"] == [28, 28, 1]


@pytest.mark.parametrize("format", ["tflite", "onnx"])
def test_a_uint8_input_takes_raw_pixels_as_they_come(trained_model, fashion, tmp_path, format):
    suffix = {"tflite": ".tflite", "onnx": ".onnx"}[format]
    report = keras_vit.export(trained_model, tmp_path / f"u8{suffix}", format=format, input_dtype="uint8",
                              verify_data=fashion["check"])  # fmt: skip
    assert report.max_abs_diff <= 1e-4
    artifact = load_artifact(report.path)
    assert artifact.metadata["input_dtype"] == "uint8"
    if format == "tflite":
        from ai_edge_litert.interpreter import Interpreter

        runner = Interpreter(model_path=report.path).get_signature_runner("serving_default")
        (details,) = runner.get_input_details().values()
        assert details["dtype"] == np.uint8
    np.testing.assert_allclose(
        artifact(fashion["check"][:5]), trained_model.predict(fashion["check"][:5], verbose=0), atol=1e-4
    )


def test_bad_input_dtype_is_refused_before_any_work(trained_model, tmp_path):
    with pytest.raises(ValueError, match="input_dtype must be one of 'float32', 'uint8'; got 'int8'"):
        keras_vit.export(trained_model, tmp_path / "x.tflite", format="tflite", input_dtype="int8")
    assert not any(tmp_path.iterdir())


def test_an_onnx_file_without_keras_vit_metadata_reads_as_none(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    value = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [1]) for name in ("x", "y")]
    model = helper.make_model(helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", value[:1], value[1:]))
    entry = model.metadata_props.add()
    entry.key, entry.value = "author", "someone else"
    onnx.save(model, str(tmp_path / "other.onnx"))
    assert read_metadata(tmp_path / "other.onnx") is None
