"""`export`: a Keras model to SavedModel, TFLite or ONNX, then checked against the model."""

import dataclasses
import json
import os
import pathlib
import shutil
import tempfile

import keras
import numpy as np

from keras_vit import files
from keras_vit.export import metadata as artifact_metadata
from keras_vit.export import onnx, saved_model, tf_subprocess, tflite
from keras_vit.export.parity import ParityError, check_parity, compare
from keras_vit.export.report import ExportReport
from keras_vit.export.timing import median_latency_ms
from keras_vit.models.classifier import check_pixels

FORMATS = ("saved_model", "tflite", "onnx")
QUANTIZATIONS = tflite.QUANTIZATIONS
SUFFIXES = {"tflite": ".tflite", "onnx": ".onnx"}
LOADERS = {"saved_model": saved_model.load, "tflite": tflite.load, "onnx": onnx.load}
INPUT_DTYPES = ("float32", "uint8")
CHECKS = {"saved_model": files.check_saved_model, "tflite": files.check_tflite, "onnx": files.check_onnx}
NUM_RANDOM_SAMPLES = 16
BATCH_SIZE = 64


def export(
    model,
    path,
    format="saved_model",
    quantize=None,
    representative_data=None,
    verify=True,
    *,
    verify_data=None,
    overwrite=False,
    max_abs_diff=1e-4,
    min_top1_agreement=0.99,
    latency_runs=20,
    input_dtype="float32",
):
    """Write `model` to `path` as `format`, reload the artifact and check it against `model`.

    Args:
        model: a functional `keras.Model` with one image input `(B, H, W, C)` and one output
            (a DeiT model exports its single averaged output unchanged). Built under any backend:
            the writers need TensorFlow, so under JAX or torch the model goes through a `.keras`
            file reloaded under TensorFlow in a subprocess.
        path: where to write: a directory for `"saved_model"`, a `.tflite` or `.onnx` file.
        format: `"saved_model"` (a `serving_default` signature, float images, dynamic batch),
            `"tflite"` or `"onnx"`.
        quantize: TFLite only: None (fp32), `"float16"`, `"dynamic"` (int8 weights, float
            activations) or `"int8"` (every op int8, calibrated on `representative_data`).
        representative_data: real images `(N, H, W, C)` as the model takes them, raw pixels in
            [0, 255] for a keras_vit model (an array, or an iterable of image batches or
            `(images, labels)` batches); required for `"int8"`. Also the default `verify_data`.
            Checked by `keras_vit.check_pixels` before any work: images that look channels-first
            or scaled to [0, 1] (for a keras_vit model) are an error.
        verify: reload the artifact, run it and `model` on `verify_data` and raise
            `ParityError` if an fp32 artifact differs by more than `max_abs_diff` or a quantized
            one agrees on top-1 for fewer than `min_top1_agreement` of the samples. A failed
            check leaves nothing at `path`.
        verify_data: images for the check; default `representative_data`, else 16 uniform
            random images in [0, 255].
        overwrite: replace an existing `path` (only once the new artifact passed its check);
            without it an existing `path` is an error.
        latency_runs: batch-1 calls timed for the report's median latency.
        input_dtype: `"float32"` or `"uint8"` (the mobile convention): the dtype of the artifact's
            image input. Either way it takes raw pixel values; the model's preprocessing is inside.

    The artifact carries the model's class names and preprocessing (`keras_vit.export.metadata`: a
    SavedModel's `assets.extra/`, ONNX `metadata_props`, TFLite Metadata with `labels.txt`), and a
    labels file is written beside it (`vit.tflite` -> `vit.labels.txt`) when the model has class names.

    Returns:
        An `ExportReport`: path, file size, and when verified the max abs difference, top-1
        agreement and batch-1 latency.
    """
    path = pathlib.Path(path)
    check_request(format, quantize, representative_data, path, overwrite, input_dtype)
    model_image_shape(model)
    representative_images = as_images(representative_data, model, "representative_data")
    verify_images = as_images(verify_data, model, "verify_data")
    if verify_images is None:
        verify_images = representative_images
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        staged = staging / path.name
        write(model, staged, format, quantize, representative_images, input_dtype)
        metadata = artifact_metadata.model_metadata(model, input_dtype)
        attach_metadata(staged, format, metadata)
        labels = artifact_metadata.labels_text(metadata["class_names"])
        if labels:
            artifact_metadata.labels_path(staged).write_text(labels)
        if verify:
            report = check_artifact(
                model,
                staged,
                quantize,
                verify_images,
                max_abs_diff=max_abs_diff,
                min_top1_agreement=min_top1_agreement,
                latency_runs=latency_runs,
            )
        else:
            report = ExportReport(str(staged), format, quantize, file_size(staged))
        if path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        os.replace(staged, path)
        if labels:
            os.replace(artifact_metadata.labels_path(staged), artifact_metadata.labels_path(path))
    except ParityError as error:
        raise ParityError(f"{error} Nothing was written to {path}.", error.report) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report.path = str(path)
    return report


def check_request(format, quantize, representative_data, path, overwrite, input_dtype="float32"):
    """Raise a clear error for a request `export` cannot fulfil, before any work."""
    if input_dtype not in INPUT_DTYPES:
        raise ValueError(f"input_dtype must be one of {', '.join(map(repr, INPUT_DTYPES))}; got {input_dtype!r}.")
    if format not in FORMATS:
        raise ValueError(f"Unknown export format {format!r}. Valid formats: {', '.join(FORMATS)}.")
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise ValueError(
            f"Unknown quantize={quantize!r}. Valid values: None (float32), {', '.join(map(repr, QUANTIZATIONS))}."
        )
    if quantize is not None and format != "tflite":
        raise ValueError(f"quantize={quantize!r} applies to format='tflite' only; got format={format!r}.")
    if quantize == "int8" and representative_data is None:
        raise ValueError(
            "quantize='int8' calibrates every activation on real images: pass representative_data "
            "(a few hundred images (N, H, W, C) as the model takes them)."
        )
    suffix = SUFFIXES.get(format)
    if suffix and path.suffix != suffix:
        raise ValueError(f"A {format} export is a '{suffix}' file; got path {str(path)!r}.")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it, or choose another path.")


def model_image_shape(model):
    """`(H, W, C)` of the single image input of `model`; raise unless it has one input and one output."""
    inputs, outputs = getattr(model, "inputs", None), getattr(model, "outputs", None)
    if not inputs or not outputs or len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(
            "export needs a functional keras.Model with one image input and one output (a DeiT "
            f"model's single averaged output); got inputs={inputs} and outputs={outputs}."
        )
    image_shape = tuple(inputs[0].shape[1:])
    if len(image_shape) != 3 or None in image_shape:
        raise ValueError(f"export needs a static image input (B, H, W, C); got shape {inputs[0].shape}.")
    return image_shape


def as_images(data, model, name):
    """`data` (array, or iterable of batches or (images, labels) batches) as float32 images for `model`,
    checked by `check_pixels` (shape, layout, value range)."""
    if data is None:
        return None
    if not hasattr(data, "shape"):
        data = np.concatenate([np.asarray(batch[0] if isinstance(batch, (tuple, list)) else batch) for batch in data])
    return check_pixels(model, data, name=name).astype("float32")


def with_input_dtype(model, input_dtype):
    """`model` behind an image input of `input_dtype` (raw pixels; the model's preprocessing casts them)."""
    if input_dtype == "float32":
        return model
    inputs = keras.Input(model.inputs[0].shape[1:], dtype=input_dtype, name="images")
    return keras.Model(inputs, model(inputs), name=model.name)


def write(model, path, format, quantize=None, representative_images=None, input_dtype="float32"):
    """Write the artifact with no checks (those are `export`'s); TensorFlow in process or in a subprocess."""
    if keras.backend.backend() != "tensorflow":
        tf_subprocess.write(model, path, format, quantize, representative_images, input_dtype)
        return
    model = with_input_dtype(model, input_dtype)
    if representative_images is not None:
        representative_images = representative_images.astype(input_dtype)
    if format == "saved_model":
        saved_model.write(model, path)
    elif format == "tflite":
        tflite.write(model, path, quantize, representative_images)
    else:
        onnx.write(model, path)


def attach_metadata(path, format, metadata):
    """Put `metadata` (`keras_vit.export.metadata.model_metadata`) into the artifact at `path`."""
    if format == "saved_model":
        artifact_metadata.write_saved_model_metadata(path, metadata)
    elif format == "onnx":
        artifact_metadata.write_onnx_metadata(path, metadata)
    else:
        from keras_vit.export.tflite_metadata import write_tflite_metadata

        files = {artifact_metadata.METADATA_FILE: json.dumps(metadata, indent=1)}
        labels = artifact_metadata.labels_text(metadata["class_names"])
        if labels:
            files[artifact_metadata.LABELS_FILE] = labels
        write_tflite_metadata(path, metadata, files)


def format_of(path):
    path = pathlib.Path(path)
    if path.is_dir():
        return "saved_model"
    for format, suffix in SUFFIXES.items():
        if path.suffix == suffix:
            return format
    raise ValueError(f"{str(path)!r} is not an export: expected a SavedModel directory, a .tflite or an .onnx file.")


@dataclasses.dataclass
class Artifact:
    """An exported model, ready to run: call it on raw pixels `(B, H, W, C)` for its outputs `(B, ...)` (numpy).

    `metadata` is what the export wrote (`keras_vit.export.metadata.model_metadata`: class names, image
    shape, input dtype, the normalization inside), or None for an artifact written without it.
    """

    path: str
    format: str
    predict: object
    metadata: dict = None

    def __call__(self, images):
        return self.predict(images)

    @property
    def class_names(self):
        return (self.metadata or {}).get("class_names")

    @property
    def image_shape(self):
        shape = (self.metadata or {}).get("image_shape")
        return None if shape is None else tuple(shape)

    @property
    def input_shape(self):
        """The `(H, W, C)` its input signature takes (None where dynamic)."""
        return self.predict.input_shape


def load_artifact(path):
    """The exported artifact at `path` (a SavedModel folder, a `.tflite` or an `.onnx` file) as an `Artifact`.

    A missing path, or a file or folder that is not an export of its kind (an empty, truncated or foreign
    file), is an error naming it, raised before the runtime (TensorFlow, LiteRT, ONNX Runtime) reads it;
    what the runtime itself refuses is reported with the path.
    """
    if not pathlib.Path(path).exists():
        raise FileNotFoundError(
            f"Export {str(path)!r} not found: expected a SavedModel directory, a .tflite or an .onnx file."
        )
    format = format_of(path)
    CHECKS[format](path, what=f"{format} export")
    try:
        predict = LOADERS[format](path)
    except Exception as error:  # each runtime has its own error types; all mean the file is not loadable
        raise ValueError(f"{format} export {str(path)!r} cannot be loaded ({type(error).__name__}: {error}).") from None
    return Artifact(str(path), format, predict, artifact_metadata.read_metadata(path))


def file_size(path):
    path = pathlib.Path(path)
    if path.is_dir():
        return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())
    return path.stat().st_size


def predict_in_batches(predict, images):
    return np.concatenate([predict(images[i : i + BATCH_SIZE]) for i in range(0, len(images), BATCH_SIZE)])


def check_artifact(
    model, path, quantize=None, data=None, *, max_abs_diff=1e-4, min_top1_agreement=0.99, latency_runs=20
):
    """Run the artifact at `path` and `model` on `data` (default: 16 random images, raw pixels).

    Returns an `ExportReport`; raises `ParityError` when the artifact is out of tolerance
    (see `export`). `quantize` says which criterion applies. A missing or broken artifact (see
    `load_artifact`), one whose input shape is not the model's, and `data` that `check_pixels` refuses
    are errors raised before anything runs.
    """
    image_shape = model_image_shape(model)
    images = as_images(data, model, "data")
    if images is None:  # raw pixels, as the model takes them
        images = np.random.default_rng(0).integers(0, 256, (NUM_RANDOM_SAMPLES, *image_shape)).astype("float32")
    artifact = load_artifact(path)
    if any(a is not None and a != m for a, m in zip(artifact.input_shape, image_shape)):
        raise ValueError(
            f"Export {str(path)!r} takes images (B, {', '.join(map(str, artifact.input_shape))}), but model "
            f"{model.name!r} takes (B, {', '.join(map(str, image_shape))}): it is an export of another model."
        )
    if (artifact.metadata or {}).get("input_dtype") == "uint8":
        images = np.clip(np.round(images), 0, 255).astype("uint8")  # what a uint8 input can hold, for both
    reference = keras.ops.convert_to_numpy(model.predict(images, batch_size=BATCH_SIZE, verbose=0))
    max_diff, agreement = compare(reference, predict_in_batches(artifact, images))
    report = ExportReport(
        path=str(path),
        format=format_of(path),
        quantize=quantize,
        file_size_bytes=file_size(path),
        num_samples=len(images),
        max_abs_diff=max_diff,
        top1_agreement=agreement,
        latency_ms=median_latency_ms(artifact, images[:1], runs=latency_runs),
    )
    check_parity(report, max_abs_diff, min_top1_agreement)
    return report
