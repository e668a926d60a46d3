"""recipes/how_vits_work.py end to end at the smallest sizes, on a few real Fashion-MNIST images."""

import json

import pytest
from script_module import load_script

pytestmark = pytest.mark.one_backend("torch")

how_vits_work = load_script("recipes/how_vits_work.py")


@pytest.fixture(scope="module")
def few_fashion_mnist(data_dir, tmp_path_factory):
    from keras_vit.data import write_fashion_mnist_subset

    folder = tmp_path_factory.mktemp("few-fashion-mnist")
    return write_fashion_mnist_subset(data_dir / "fashion-mnist", folder, num_train=64, num_test=32)


def test_the_recipe_trains_three_models_and_compares_their_curvature(few_fashion_mnist, tmp_path):
    rows, claims = how_vits_work.main(
        ["--data", "fashion_mnist_idx", "--data-dir", str(few_fashion_mnist), "--epochs", "1", "--batch-size", "32",
         "--cnn-widths", "4,8", "--analysis-images", "8", "--hessian-batch-size", "4", "--top-k", "2",
         "--trace-samples", "3", "--density-steps", "4", "--landscape-steps", "5", "--out", str(tmp_path / "out"),
         "--docs", str(tmp_path / "docs")]
    )  # fmt: skip
    assert [row["model"].split(" ")[0] for row in rows] == ["ViT", "ResNet", "AlterNet"]
    for picture in ("hessian.png", "landscape.png"):
        assert (tmp_path / "docs" / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    curvature = json.loads((tmp_path / "out" / "curvature.json").read_text())
    for row in rows:
        figures = curvature["models"][row["model"]]
        shape = len(figures["max_eigenvalues"]), len(figures["max_eigenvalues"][0])
        assert shape == (2, 2)  # 8 images in mini-batches of 4, top 2 of each
        assert 0.0 <= row["negative_top_k_share"] <= 1.0 and row["parameters"] > 0
        assert row["loss"] == pytest.approx(figures["landscape/loss"][2], abs=1e-4)  # distance 0: the model's loss
    vit, resnet, alternet = rows
    assert claims["AlterNet is more accurate than both the ResNet and the ViT"] == (
        alternet["test_accuracy"] > max(vit["test_accuracy"], resnet["test_accuracy"])
    )
    saved = json.loads((tmp_path / "out" / "how_vits_work.json").read_text())
    assert saved["rows"] == rows and saved["claims"] == claims
    assert "| model |" in (tmp_path / "out" / "how_vits_work.md").read_text()
