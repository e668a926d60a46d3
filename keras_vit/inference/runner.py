"""One interface over a model object and every artifact: raw pixels in, logits out, with class names."""

import dataclasses
import pathlib

import numpy as np

ARTIFACT_KINDS = "a keras_vit model, a .keras file, a SavedModel folder, a .tflite or an .onnx file"


@dataclasses.dataclass
class Runner:
    """A classifier ready to run: `runner(images)` maps raw pixels `(B, H, W, C)` to logits `(B, classes)`.

    `image_shape` is `(H, W, C)` of the images it takes; `class_names` its classes (None when it does not
    carry them); `source` says what it was opened from.
    """

    predict: object
    image_shape: tuple
    class_names: list
    source: str

    def __call__(self, images):
        return np.asarray(self.predict(images), "float32")


def open_runner(model_or_path, batch_size=64):
    """A `Runner` for a keras model object (a keras_vit model, or any Keras model taking raw pixels) or the
    path of a `.keras` file, a SavedModel folder, a `.tflite` or an `.onnx` file; every one of them reads its
    class names and image shape from itself."""
    if hasattr(model_or_path, "predict") and hasattr(model_or_path, "inputs"):
        return _keras_runner(model_or_path, str(getattr(model_or_path, "name", "model")), batch_size)
    path = pathlib.Path(model_or_path)
    if not path.exists():
        raise FileNotFoundError(f"No model at {path}: give {ARTIFACT_KINDS}.")
    if path.suffix == ".keras":
        from keras_vit.models import load_model

        return _keras_runner(load_model(path), str(path), batch_size)
    from keras_vit.export import load_artifact

    artifact = load_artifact(path)
    if artifact.image_shape is None:
        raise ValueError(
            f"{path} carries no keras_vit metadata (class names, image size): it was not written by keras_vit's "
            "export. Export the .keras model again with keras-vit export, or run the .keras file itself."
        )
    return Runner(artifact, artifact.image_shape, artifact.class_names, str(path))


def _keras_runner(model, source, batch_size):
    import keras

    def predict(images):
        return keras.ops.convert_to_numpy(model.predict(images, batch_size=batch_size, verbose=0))

    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    return Runner(predict, shape, getattr(model, "class_names", None), source)
