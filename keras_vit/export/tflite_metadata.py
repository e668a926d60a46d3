"""TFLite Metadata for an image classifier: what LiteRT's metadata readers and the Task Library's
`ImageClassifier` read from a `.tflite` file.

The format is tflite-support's `metadata_schema.fbs` (file identifier "M001"): a `ModelMetadata`
flatbuffer stored in a model buffer named "TFLITE_METADATA", its associated files in a zip archive
appended to the model. tflite-support's own writer cannot be a dependency (it pins protobuf < 4, which
TensorFlow 2.21 does not allow), so the few tables an image classifier needs are built here with the
`flatbuffers` package; the slot numbers below are the schema's. The tests read the result back with the
schema's own generated reader.

What is written: the input is an image (RGB or grayscale) of raw pixel values, 0-255, with the identity
`NormalizationOptions` (mean 0, std 1: the model normalizes its pixels itself, so a reader must not
normalize them again) and min/max statistics 0/255; the output is the class logits with `labels.txt`
(`TENSOR_AXIS_LABELS`); the model carries `keras_vit.json` (`metadata.model_metadata`).
"""

import zipfile

import flatbuffers
import numpy as np

METADATA_IDENTIFIER = b"M001"
MODEL_IDENTIFIER = b"TFL3"
METADATA_BUFFER_NAME = "TFLITE_METADATA"
MIN_PARSER_VERSION = "1.0.0"  # every table and field used here is in the schema's first version
# Enum values of metadata_schema.fbs.
_IMAGE_PROPERTIES, _FEATURE_PROPERTIES = 2, 1  # ContentProperties
_NORMALIZATION_OPTIONS = 1  # ProcessUnitOptions
_RGB, _GRAYSCALE = 1, 2  # ColorSpaceType
_UNKNOWN_FILE, _TENSOR_AXIS_LABELS = 0, 2  # AssociatedFileType


def _table(builder, slots, fields):
    """One table: `fields` maps slot -> ("offset" | "int8" | "uint8", value); None values are left out."""
    builder.StartObject(slots)
    for slot, (kind, value) in sorted(fields.items(), reverse=True):
        if value is None:
            continue
        if kind == "offset":
            builder.PrependUOffsetTRelativeSlot(slot, value, 0)
        elif kind == "int8":
            builder.PrependInt8Slot(slot, value, 0)
        else:
            builder.PrependUint8Slot(slot, value, 0)
    return builder.EndObject()


def _vector(builder, offsets):
    builder.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        builder.PrependUOffsetTRelative(offset)
    return builder.EndVector()


def _floats(builder, values):
    return builder.CreateNumpyVector(np.asarray(values, "float32"))


def _associated_file(builder, name, description, file_type):
    fields = {0: ("offset", builder.CreateString(name)), 1: ("offset", builder.CreateString(description)),
              2: ("int8", file_type)}  # fmt: skip
    return _table(builder, 5, fields)


def metadata_flatbuffer(metadata):
    """The `ModelMetadata` flatbuffer (bytes) of a model with `metadata.model_metadata` `metadata`."""
    builder = flatbuffers.Builder(1024)
    channels = metadata["image_shape"][2]
    # Input: the image, raw pixels.
    image_properties = _table(builder, 2, {0: ("int8", _GRAYSCALE if channels == 1 else _RGB)})
    input_content = _table(builder, 3, {0: ("uint8", _IMAGE_PROPERTIES), 1: ("offset", image_properties)})
    normalization = _table(builder, 2, {0: ("offset", _floats(builder, [0.0] * channels)),
                                        1: ("offset", _floats(builder, [1.0] * channels))})  # fmt: skip
    process_unit = _table(builder, 2, {0: ("uint8", _NORMALIZATION_OPTIONS), 1: ("offset", normalization)})
    stats = _table(builder, 2, {0: ("offset", _floats(builder, [255.0] * channels)),
                                1: ("offset", _floats(builder, [0.0] * channels))})  # fmt: skip
    input_tensor = _table(builder, 7, {
        0: ("offset", builder.CreateString("image")),
        1: ("offset", builder.CreateString(
            "The image's raw pixel values, 0-255 (the model rescales and normalizes them itself).")),
        3: ("offset", input_content),
        4: ("offset", _vector(builder, [process_unit])),
        5: ("offset", stats),
    })  # fmt: skip
    # Output: the logits over the classes, with their labels.
    labels = None
    if metadata["class_names"]:
        labels = _vector(builder, [_associated_file(builder, "labels.txt", "Class names, one per line, in logit order.",
                                                    _TENSOR_AXIS_LABELS)])  # fmt: skip
    feature_properties = _table(builder, 0, {})
    output_content = _table(builder, 3, {0: ("uint8", _FEATURE_PROPERTIES), 1: ("offset", feature_properties)})
    output_tensor = _table(builder, 7, {
        0: ("offset", builder.CreateString("logits")),
        1: ("offset", builder.CreateString("Class logits (softmax gives the probabilities).")),
        3: ("offset", output_content),
        6: ("offset", labels),
    })  # fmt: skip
    subgraph = _table(builder, 10, {0: ("offset", builder.CreateString("image_classifier")),
                                    2: ("offset", _vector(builder, [input_tensor])),
                                    3: ("offset", _vector(builder, [output_tensor]))})  # fmt: skip
    model_file = _associated_file(builder, "keras_vit.json", "The model's class names and preprocessing.", _UNKNOWN_FILE)
    root = _table(builder, 8, {
        0: ("offset", builder.CreateString(metadata["name"])),
        1: ("offset", builder.CreateString("Image classifier written by keras_vit.")),
        3: ("offset", _vector(builder, [subgraph])),
        4: ("offset", builder.CreateString("keras_vit")),
        6: ("offset", _vector(builder, [model_file])),
        7: ("offset", builder.CreateString(MIN_PARSER_VERSION)),
    })  # fmt: skip
    builder.Finish(root, file_identifier=METADATA_IDENTIFIER)
    return bytes(builder.Output())


def _text(name):
    return name.decode() if isinstance(name, bytes) else name


def write_tflite_metadata(path, metadata, associated_files):
    """Add the TFLite Metadata of `metadata` to the `.tflite` file at `path`, with `associated_files`
    (`{name: text}`) in the zip archive appended to it. Replaces earlier metadata."""
    from ai_edge_litert import schema_py_generated as schema

    with open(path, "rb") as file:
        model = schema.ModelT.InitFromPackedBuf(bytearray(file.read()), 0)
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(metadata_flatbuffer(metadata), np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = METADATA_BUFFER_NAME, len(model.buffers) - 1
    kept = [m for m in (model.metadata or []) if _text(m.name) != METADATA_BUFFER_NAME]
    model.metadata = kept + [entry]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=MODEL_IDENTIFIER)
    with open(path, "wb") as file:
        file.write(bytes(builder.Output()))
    # Appended in place so the zip's offsets are the file's own, as TFLite's metadata populator writes them.
    with zipfile.ZipFile(path, "a") as files:
        for name, text in associated_files.items():
            files.writestr(name, text)
