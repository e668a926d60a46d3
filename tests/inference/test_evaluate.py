"""`keras_vit.evaluate` / `keras-vit evaluate` on every artifact kind; the figures against numpy."""

import json

import numpy as np
import pytest

import keras_vit
from keras_vit import cli
from keras_vit.inference.evaluate import summarize


@pytest.mark.parametrize("kind", ["keras", "saved_model", "tflite", "onnx"])
def test_every_artifact_evaluates_on_the_folder(artifacts, image_folder, kind):
    result = keras_vit.evaluate(artifacts[kind], data="folder", data_dir=image_folder)
    assert (result["num_images"], result["class_names"], result["split"]) == (12, ["bright", "dark"], "test")
    assert result["top1_accuracy"] == 1.0 and result["top5_accuracy"] == 1.0
    assert result["confusion_matrix"] == [[6, 0], [0, 6]]
    assert result["per_class_accuracy"] == {"bright": 1.0, "dark": 1.0}
    assert 0.0 < result["loss"] < 0.69  # better than chance


def test_cli_prints_the_figures_and_writes_the_confusion_matrix(artifacts, image_folder, tmp_path, capsys):
    out = tmp_path / "evaluation"
    cli.main(["evaluate", str(artifacts["onnx"]), "--data", "folder", "--data-dir", str(image_folder),
              "--split", "train", "--out", str(out)])  # fmt: skip
    printed = capsys.readouterr().out
    assert "top1_accuracy: 1.0000" in printed and "top5_accuracy: 1.0000" in printed and "loss: " in printed
    saved = json.loads((out / "evaluation.json").read_text())
    assert saved["num_images"] == 48 and saved["confusion_matrix"] == [[24, 0], [0, 24]]
    assert (out / "confusion_matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_summary_figures_against_numpy():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 7)).astype("float32")
    labels = rng.integers(0, 7, 50)
    result = summarize(logits, labels, [f"c{i}" for i in range(7)])
    log_probabilities = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert result["top1_accuracy"] == pytest.approx(np.mean(logits.argmax(1) == labels))
    top5 = np.argsort(-logits, axis=1)[:, :5]
    assert result["top5_accuracy"] == pytest.approx(np.mean([label in row for label, row in zip(labels, top5)]))
    assert result["loss"] == pytest.approx(-log_probabilities[np.arange(50), labels].mean(), rel=1e-5)
    matrix = np.asarray(result["confusion_matrix"])
    assert matrix.sum() == 50 and np.trace(matrix) == np.sum(logits.argmax(1) == labels)
    for index, name in enumerate(result["class_names"]):
        in_class = labels == index
        expected = np.mean(logits.argmax(1)[in_class] == index) if in_class.any() else None
        assert result["per_class_accuracy"][name] == pytest.approx(expected)


def test_a_model_of_other_classes_is_refused(artifacts, data_dir):
    with pytest.raises(ValueError, match=r"classifies \['bright', 'dark'\], but 'fashion_mnist_idx' has classes"):
        keras_vit.evaluate(artifacts["keras"], data="fashion_mnist_idx", data_dir=data_dir / "fashion-mnist")
