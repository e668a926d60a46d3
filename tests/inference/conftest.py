"""A tiny ViT trained by `keras-vit train --data folder` on a two-class image folder, and its exports."""

import numpy as np
import pytest
from PIL import Image

from keras_vit import cli

CLASSES = ["bright", "dark"]  # sorted folder names: the labels 0 and 1


def write_folder(root, per_class, seed):
    """`root/<class>/*.png`: 16x16 RGB noise, bright (150-255) or dark (0-105): a task any model learns."""
    rng = np.random.default_rng(seed)
    for name, (low, high) in zip(CLASSES, [(150, 256), (0, 106)]):
        (root / name).mkdir(parents=True)
        for index in range(per_class):
            Image.fromarray(rng.integers(low, high, (16, 16, 3)).astype("uint8")).save(root / name / f"{index}.png")


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("two-classes")
    write_folder(root / "train", 24, seed=0)
    write_folder(root / "test", 6, seed=1)
    return root


@pytest.fixture(scope="session")
def trained_run(image_folder, tmp_path_factory):
    """The run folder of `keras-vit train` on the folder (a 1-block ViT, 6 epochs at peak learning rate 5e-3)."""
    run = tmp_path_factory.mktemp("run")
    cli.main([
        "train", "--data", "folder", "--data-dir", str(image_folder), "--model", "vit_nano_patch4_28",
        "--set", "depth=1", "--set", "dim=32", "--set", "num_heads=2", "--set", "mlp_dim=32",
        "--epochs", "6", "--batch-size", "16", "--base-learning-rate", "0.16", "--warmup-epochs", "0",
        "--label-smoothing", "0", "--output-dir", str(run), "--no-tensorboard", "--verbose", "0",
    ])  # fmt: skip
    return run


@pytest.fixture(scope="session")
def artifacts(trained_run):
    """`{kind: path}`: the run's `.keras` file and its SavedModel, TFLite and ONNX exports (by `keras-vit export`)."""
    model = trained_run / "model.keras"
    paths = {"keras": model}
    for format, suffix in (("saved_model", "_saved_model"), ("tflite", ".tflite"), ("onnx", ".onnx")):
        paths[format] = trained_run / f"model{suffix}"
        cli.main(["export", str(model), "--format", format])
    return paths
