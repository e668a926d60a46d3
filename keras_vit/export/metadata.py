"""What an exported artifact carries besides its graph, in every format: the class names and the preprocessing.

`model_metadata(model)` is one JSON-ready dict, written as `keras_vit.json` into a SavedModel's
`assets.extra/`, an ONNX file's `metadata_props` and a TFLite file's associated files (with the TFLite
Metadata of `tflite_metadata.py` beside it); the class names also go into a `labels.txt` (one per line,
the TFLite and Android convention) inside the artifact and beside it. `read_metadata(path)` reads it back
from any artifact.
"""

import json
import pathlib
import zipfile

METADATA_FILE = "keras_vit.json"
LABELS_FILE = "labels.txt"
SAVED_MODEL_EXTRA = "assets.extra"
# The artifacts take the images' raw pixel values (see keras_vit.models.classifier).
INPUT_CONVENTION = "raw pixel values in [0, 255]"


def model_metadata(model, input_dtype="float32"):
    """The metadata of a keras_vit model's export: class names, image shape, input dtype and convention,
    and the normalization the model applies to its inputs itself (for the record: an artifact's user feeds
    raw pixels and does not apply it again). A model from outside keras_vit gives what it declares."""
    height, width, channels = (int(d) for d in model.inputs[0].shape[1:])
    normalization = getattr(model, "input_normalization", None)
    return {
        "name": model.name,
        "class_names": getattr(model, "class_names", None),
        "image_shape": [height, width, channels],
        "input_dtype": input_dtype,
        "input": INPUT_CONVENTION if hasattr(model, "preprocessing") else "as the model was built",
        "input_normalization_inside": None if normalization is None else [list(values) for values in normalization],
    }


def labels_text(class_names):
    """The class names one per line (TFLite's `labels.txt`), or None without names."""
    return None if not class_names else "".join(f"{name}\n" for name in class_names)


def labels_path(artifact_path):
    """Where the labels file beside an artifact goes: `dir/vit.tflite` -> `dir/vit.labels.txt`."""
    artifact_path = pathlib.Path(artifact_path)
    return artifact_path.with_name(artifact_path.stem + ".labels.txt")


def write_saved_model_metadata(path, metadata):
    extra = pathlib.Path(path) / SAVED_MODEL_EXTRA
    extra.mkdir(exist_ok=True)
    (extra / METADATA_FILE).write_text(json.dumps(metadata, indent=1))
    labels = labels_text(metadata["class_names"])
    if labels:
        (extra / LABELS_FILE).write_text(labels)


def write_onnx_metadata(path, metadata):
    import onnx

    model = onnx.load(str(path))
    entries = {METADATA_FILE: json.dumps(metadata)}
    if metadata["class_names"]:
        entries["class_names"] = json.dumps(metadata["class_names"])
    for key, value in entries.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


def read_metadata(path):
    """The keras_vit metadata of the artifact at `path` (SavedModel folder, `.tflite` or `.onnx`), or None
    for an artifact written without it."""
    path = pathlib.Path(path)
    if path.is_dir():
        file = path / SAVED_MODEL_EXTRA / METADATA_FILE
        return json.loads(file.read_text()) if file.is_file() else None
    if path.suffix == ".onnx":
        import onnx

        # metadata_props lives in the protobuf: reading it needs no inference session, which would also
        # load and optimize the graph.
        entries = {entry.key: entry.value for entry in onnx.load(str(path), load_external_data=False).metadata_props}
        return json.loads(entries[METADATA_FILE]) if METADATA_FILE in entries else None
    if path.suffix == ".tflite":
        # TFLite's associated files are a zip archive appended to the flatbuffer.
        if not zipfile.is_zipfile(path):
            return None
        with zipfile.ZipFile(path) as archive:
            if METADATA_FILE not in archive.namelist():
                return None
            return json.loads(archive.read(METADATA_FILE))
    raise ValueError(f"{str(path)!r} is not an export: expected a SavedModel directory, a .tflite or an .onnx file.")
