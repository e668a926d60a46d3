import json

import keras
import numpy as np
import pytest

import keras_vit
from keras_vit import build_vit
from keras_vit.cli import main
from keras_vit.inspect import write_report
from keras_vit.inference import load_images

# Few products: the curvature options at their smallest useful sizes.
CHEAP = ["--top-k", "2", "--trace-samples", "3", "--density-steps", "6", "--landscape-steps", "5"]
FIGURES = ["attention_maps.png", "rollout.png", "attention_distance.png", "position_similarity.png", "frequency.png"]


@pytest.fixture
def saved(vit, cnn, images, tmp_path):
    vit.save(tmp_path / "vit.keras")
    cnn.save(tmp_path / "cnn.keras")
    paths = []
    for index, image in enumerate(images[:2]):
        paths.append(str(tmp_path / f"image_{index}.png"))
        keras.utils.save_img(paths[-1], image * 255, scale=False)
    return tmp_path, paths


def test_cli_writes_figures_and_numbers(saved, capsys):
    folder, image_paths = saved
    out = folder / "out"
    args = ["inspect", str(folder / "vit.keras"), *image_paths, "--out", str(out), "--layer", "0",
            "--compare-model", str(folder / "cnn.keras"), "--compare-layers", "conv_0", "conv_1"]
    assert main(args) == 0
    for name in FIGURES:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    numbers = np.load(out / "numbers.npz")
    assert numbers["attention_weights"].shape == (2, 2, 4, 18, 18)
    # The CLS row (token 0) over the 16 patch keys, after the CLS and distillation tokens.
    np.testing.assert_array_equal(numbers["attention_maps"], numbers["attention_weights"][0, :, :, 0, 2:].reshape(2, 4, 4, 4))
    np.testing.assert_allclose(numbers["rollout_maps"], numbers["rollout"][-1, :, 0, 2:].reshape(2, 4, 4), rtol=1e-6)
    summary = json.loads((out / "numbers.json").read_text())
    np.testing.assert_allclose(summary["mean_attention_distance_px"], numbers["mean_attention_distance"], atol=1e-4)
    assert summary["attention_map_block"] == 0
    assert set(summary["frequency"]) == {"deit", "cnn"}  # the models' names (the fixture is a distilled DeiT)
    assert str(out / "frequency.png") in capsys.readouterr().out


def test_wrong_size_needs_resize(saved, tmp_path):
    folder, image_paths = saved
    keras.utils.save_img(tmp_path / "big.png", np.zeros((20, 24, 3)), scale=False)
    args = ["inspect", str(folder / "vit.keras"), str(tmp_path / "big.png"), "--out", str(tmp_path / "big")]
    with pytest.raises(SystemExit, match="keras-vit inspect: Image .* is 24x20 pixels; the model takes 16x16. Pass --resize"):
        main(args)
    assert not (tmp_path / "big").exists()
    resized = load_images([tmp_path / "big.png", image_paths[0]], (16, 16, 3), resize=True)
    assert resized.shape == (2, 16, 16, 3) and resized.dtype == np.uint8
    np.testing.assert_allclose(resized[0], 0.0)
    # Raw pixels, as the models take them.
    np.testing.assert_allclose(resized[1], np.round(load_images(image_paths[:1], (16, 16, 3), resize=False)[0]))
    assert resized[1].max() > 1.0
    assert load_images(image_paths, (16, 16, 1), resize=False).shape == (2, 16, 16, 1)


def test_a_keras_vit_cnn_is_compared_on_its_own_feature_layers(saved, tmp_path):
    folder, image_paths = saved
    cnn = keras_vit.build_resnet(num_classes=5, image_size=16, widths=(4, 8), blocks_per_stage=1)
    cnn.save(tmp_path / "resnet.keras")
    out = tmp_path / "out"
    main(["inspect", str(folder / "vit.keras"), *image_paths, "--out", str(out), "--compare-model",
          str(tmp_path / "resnet.keras")])  # fmt: skip
    summary = json.loads((out / "numbers.json").read_text())
    assert summary["frequency"]["resnet"]["layer_names"] == ["stage0_block0_out", "stage1_block0_out"]


def test_bad_layer_and_bad_files_are_one_line_before_any_work(saved):
    folder, image_paths = saved
    with pytest.raises(SystemExit, match="^keras-vit inspect: Layer index 2 is out of range for a model with 2 blocks"):
        main(["inspect", str(folder / "vit.keras"), *image_paths, "--out", str(folder / "x"), "--layer", "2"])
    with pytest.raises(SystemExit, match=r"^keras-vit inspect: Image file '.*missing\.png' not found"):
        main(["inspect", str(folder / "vit.keras"), str(folder / "missing.png"), "--out", str(folder / "x")])
    # A file that is no image used to end in a PIL traceback.
    (folder / "notes.png").write_text("not an image")
    with pytest.raises(SystemExit, match=r"^keras-vit inspect: Image file '.*notes\.png' cannot be decoded as an image"):
        main(["inspect", str(folder / "vit.keras"), str(folder / "notes.png"), "--out", str(folder / "x")])
    # A truncated .keras file used to be reported by Keras as "File not found".
    (folder / "cut.keras").write_bytes((folder / "vit.keras").read_bytes()[:-64])
    with pytest.raises(SystemExit, match=r"^keras-vit inspect: Model file '.*cut\.keras' is not a readable zip archive"):
        main(["inspect", str(folder / "cut.keras"), *image_paths, "--out", str(folder / "x")])
    assert not (folder / "x").exists()


def test_report_of_a_model_without_class_token_or_position_embeddings(tiny, images, tmp_path):
    model = build_vit(num_classes=5, class_token=False, pooling="gap", position_embedding="none", **tiny)
    written = {path.name for path in write_report(model, images, tmp_path)}
    assert written == set(FIGURES) - {"position_similarity.png"} | {"numbers.npz", "numbers.json"}
    numbers = np.load(tmp_path / "numbers.npz")
    assert numbers["attention_weights"].shape == (2, 3, 4, 16, 16) and "position_similarity" not in numbers
    # No CLS row: the maps are the mean attention each patch receives in the last block.
    np.testing.assert_allclose(numbers["attention_maps"], numbers["attention_weights"][-1].mean(-2).reshape(3, 4, 4, 4))


def test_cli_hessian_landscape_and_explorer_for_a_vit_beside_a_cnn(saved, tmp_path):
    folder, image_paths = saved
    cnn = keras_vit.build_resnet(num_classes=5, image_size=16, widths=(4, 8), blocks_per_stage=1)
    cnn.save(tmp_path / "resnet.keras")
    out = tmp_path / "out"
    main(["inspect", str(folder / "vit.keras"), *image_paths, "--out", str(out), "--compare-model",
          str(tmp_path / "resnet.keras"), "--labels", "3", "0", "--hessian", "--landscape", "--html",
          *CHEAP])  # fmt: skip
    for name in ("hessian.png", "landscape.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    curvature = json.loads((out / "curvature.json").read_text())
    assert set(curvature["models"]) == {"deit", "resnet"} and curvature["num_images"] == 2
    vit = keras_vit.load_model(folder / "vit.keras")
    images = load_images(image_paths, (16, 16, 3), resize=False)
    loss = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(np.array([3, 0]), vit(images), from_logits=True))
    for name, figures in curvature["models"].items():
        assert np.array(figures["max_eigenvalues"]).shape == (1, 2)  # one mini-batch of both images, top 2
        middle = len(figures["landscape/coordinates"]) // 2
        assert figures["landscape/coordinates"][middle] == 0.0
        assert figures["landscape/loss"][middle] == pytest.approx(figures["loss"], abs=1e-5)  # JSON: 5 decimals
    assert curvature["models"]["deit"]["loss"] == pytest.approx(float(loss), rel=1e-5)
    numbers = np.load(out / "curvature.npz")
    for name in ("deit", "resnet"):
        density, grid = numbers[f"{name}/density/density"], numbers[f"{name}/density/grid"]
        assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-3)
    np.testing.assert_allclose(numbers["resnet/max_eigenvalues"], curvature["models"]["resnet"]["max_eigenvalues"],
                               rtol=1e-4)  # fmt: skip
    html = (out / "explorer.html").read_text()
    assert html.count("data:image/png;base64,") == 4  # distance, frequency, Hessian and landscape figures
    assert '"labels": [3, 0]' in html


def test_cli_curvature_of_a_cnn_alone_and_its_errors(saved, tmp_path):
    folder, image_paths = saved
    cnn = keras_vit.build_resnet(num_classes=5, image_size=16, widths=(4, 8), blocks_per_stage=1,
                                 class_names=["a", "b", "c", "d", "e"])  # fmt: skip
    cnn.save(tmp_path / "resnet.keras")
    out = tmp_path / "cnn"
    main(["inspect", str(tmp_path / "resnet.keras"), *image_paths, "--out", str(out), "--labels", "b", "e",
          "--landscape", "--landscape-directions", "2", "--landscape-steps", "5"])  # fmt: skip
    assert sorted(path.name for path in out.iterdir()) == ["curvature.json", "curvature.npz", "landscape.png"]
    loss = np.load(out / "curvature.npz")["resnet/landscape/loss"]
    assert loss.shape == (5, 5) and loss[2, 2] == pytest.approx(json.loads(
        (out / "curvature.json").read_text())["models"]["resnet"]["loss"], rel=1e-6)  # fmt: skip
    with pytest.raises(SystemExit, match="--hessian and --landscape need the images' classes: give --labels"):
        main(["inspect", str(tmp_path / "resnet.keras"), *image_paths, "--out", str(out), "--hessian"])
    with pytest.raises(SystemExit, match="Label 'z' is not a class of model 'resnet'; valid: 0 .. 4 or one of a, b"):
        main(["inspect", str(tmp_path / "resnet.keras"), *image_paths, "--out", str(out), "--hessian",
              "--labels", "a", "z"])  # fmt: skip
    with pytest.raises(SystemExit, match="--html explores attention and needs a ViT or DeiT"):
        main(["inspect", str(tmp_path / "resnet.keras"), *image_paths, "--out", str(out), "--html"])


def test_the_figures_caption_each_image_with_the_models_prediction(tiny, images, tmp_path):
    model = build_vit(num_classes=3, class_names=["ant", "bee", "cat"], **tiny)
    write_report(model, images, tmp_path)
    predictions = json.loads((tmp_path / "numbers.json").read_text())["predictions"]
    logits = keras.ops.convert_to_numpy(model(images))
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    assert predictions == [f"{['ant', 'bee', 'cat'][row.argmax()]} {row.max():.0%}" for row in probabilities]
