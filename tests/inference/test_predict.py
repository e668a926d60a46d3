"""`keras_vit.predict` / `keras-vit predict` from every artifact kind, in every output format."""

import csv
import io
import json

import keras
import numpy as np
import pytest

import keras_vit
from keras_vit import cli
from keras_vit.inference import find_images

CLASSES = ["bright", "dark"]  # the folder's classes, sorted

KINDS = ["keras", "saved_model", "tflite", "onnx"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_artifact_predicts_the_class_names_it_carries(artifacts, image_folder, kind):
    records = keras_vit.predict(artifacts[kind], [image_folder / "test"], top_k=5)
    assert len(records) == 12
    for record in records:
        assert len(record["top_k"]) == 2  # capped at the class count
        assert {entry["label"] for entry in record["top_k"]} == set(CLASSES)
        assert record["top_k"][0]["probability"] >= record["top_k"][1]["probability"]
        np.testing.assert_allclose(sum(entry["probability"] for entry in record["top_k"]), 1.0, atol=1e-5)
    truth = ["bright" if "/bright/" in record["image"] else "dark" for record in records]
    assert [record["top_k"][0]["label"] for record in records] == truth  # the trained model is right


def test_the_artifacts_predict_what_the_model_predicts(artifacts, image_folder):
    keras_probabilities = [
        [entry["probability"] for entry in record["top_k"]] for record in keras_vit.predict(artifacts["keras"], [image_folder])
    ]
    for kind in KINDS[1:]:
        records = keras_vit.predict(artifacts[kind], [image_folder])
        np.testing.assert_allclose(
            [[entry["probability"] for entry in record["top_k"]] for record in records], keras_probabilities, atol=1e-5
        )


def test_images_come_from_files_folders_and_globs_and_are_resized(artifacts, image_folder, tmp_path):
    from PIL import Image

    big = tmp_path / "big.jpg"
    Image.fromarray(np.full((40, 30), 240, "uint8")).save(big)  # a gray, larger image: converted and resized
    inputs = [str(big), str(image_folder / "test" / "dark"), str(image_folder / "test" / "bright" / "[01].png")]
    records = keras_vit.predict(artifacts["keras"], inputs, top_k=1)
    assert [record["image"] for record in records][:1] == [str(big)] and len(records) == 1 + 6 + 2
    assert records[0]["top_k"][0]["label"] == "bright"
    assert [path.name for path in find_images([image_folder / "test" / "dark"])][:2] == ["0.png", "1.png"]


def test_an_array_of_raw_pixels_and_a_model_object(trained_run):
    model = keras_vit.load_model(trained_run / "model.keras")
    pixels = np.stack([np.full((16, 16, 3), 250, "uint8"), np.full((16, 16, 3), 5, "uint8")])
    records = keras_vit.predict(model, pixels, top_k=1)
    assert [(r["image"], r["top_k"][0]["label"]) for r in records] == [("0", "bright"), ("1", "dark")]
    with pytest.raises(ValueError, match=r"Images of shape \(2, 8, 8, 3\) do not fit"):
        keras_vit.predict(model, pixels[:, :8, :8])


@pytest.mark.parametrize("output_format", ["table", "json", "csv"])
def test_cli_output_formats(artifacts, image_folder, output_format, capsys):
    cli.main(["predict", str(artifacts["tflite"]), str(image_folder / "test" / "dark"), "--top-k", "1",
              "--format", output_format])  # fmt: skip
    out = capsys.readouterr().out
    if output_format == "json":
        records = json.loads(out)
        assert [record["top_k"][0]["label"] for record in records] == ["dark"] * 6
    elif output_format == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert list(rows[0]) == ["image", "label_1", "probability_1"] and {row["label_1"] for row in rows} == {"dark"}
        assert all(0.5 < float(row["probability_1"]) <= 1.0 for row in rows)
    else:
        lines = out.splitlines()
        assert len(lines) == 12 and lines[0].endswith("0.png") and lines[1].strip().endswith("dark")


def test_bad_inputs_name_themselves(artifacts, tmp_path):
    with pytest.raises(FileNotFoundError, match="No image file, folder or glob match: .*nothing-here"):
        keras_vit.predict(artifacts["keras"], [str(tmp_path / "nothing-here")])
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(ValueError, match=r"Image file '.*notes.png' cannot be decoded as an image"):
        keras_vit.predict(artifacts["keras"], [tmp_path / "notes.png"])
    with pytest.raises(FileNotFoundError, match="No model at .*missing.keras"):
        keras_vit.predict(tmp_path / "missing.keras", [tmp_path / "notes.png"])
    with pytest.raises(ValueError, match="top_k must be a positive int; got 0"):
        keras_vit.predict(artifacts["keras"], [tmp_path / "notes.png"], top_k=0)
