"""Each committed reference export in saved_models/ still classifies real test images as recorded, and carries
Fashion-MNIST's class names (in the model or the export's metadata, and in the labels file beside it)."""

import json
import pathlib

import keras
import numpy as np
import pytest

import keras_vit
from keras_vit.data import fashion_mnist_split
from keras_vit.export import load_artifact

SAVED_MODELS = pathlib.Path(__file__).resolve().parents[2] / "saved_models"
MANIFEST = SAVED_MODELS / "manifest.json"
ENTRIES = json.loads(MANIFEST.read_text())["artifacts"] if MANIFEST.exists() else []
# Exports written before the models took raw pixels take images scaled to [0, 1].
RAW_PIXELS = MANIFEST.exists() and json.loads(MANIFEST.read_text()).get("input") == "raw_pixels"


def predictor(entry):
    path = SAVED_MODELS / entry["file"]
    if entry["format"] == "keras":  # an older file comes back upgraded, taking raw pixels
        model = keras_vit.load_model(path)
        return lambda images: keras.ops.convert_to_numpy(model.predict(images, verbose=0))
    artifact = load_artifact(path)
    return artifact if RAW_PIXELS else lambda images: artifact(images / 255.0)


@pytest.mark.skipif(not ENTRIES, reason="saved_models/ not generated yet: run recipes/export_reference.py")
@pytest.mark.parametrize("entry", ENTRIES, ids=[entry["file"] for entry in ENTRIES])
def test_reference_export_accuracy_on_real_test_slice(entry, data_dir):
    slice_size = json.loads(MANIFEST.read_text())["slice"]
    images, labels = fashion_mnist_split(data_dir / "fashion-mnist", "test", limit=slice_size)
    accuracy = np.mean(predictor(entry)(images).argmax(-1) == labels)
    # Exact for float32 formats; int8 kernels may round differently on another CPU.
    assert accuracy == pytest.approx(entry["slice_accuracy"], abs=0.01 if entry["quantize"] else 0.002)
    # The committed reference is the Fashion-MNIST recipe's model: at least 92% on the full test set, as
    # export_reference.py measured it (saved_models/README.md).
    assert accuracy >= 0.88 and entry["test_accuracy"] >= 0.92


@pytest.mark.skipif(not RAW_PIXELS, reason="saved_models/ holds exports written without metadata")
@pytest.mark.parametrize("entry", ENTRIES, ids=[entry["file"] for entry in ENTRIES])
def test_reference_exports_carry_the_class_names(entry):
    from keras_vit.data import FASHION_MNIST_CLASSES
    from keras_vit.export.metadata import labels_path

    path = SAVED_MODELS / entry["file"]
    if entry["format"] == "keras":
        assert keras_vit.load_model(path).class_names == list(FASHION_MNIST_CLASSES)
        return
    assert load_artifact(path).class_names == list(FASHION_MNIST_CLASSES)
    assert labels_path(path).read_text().splitlines() == list(FASHION_MNIST_CLASSES)
