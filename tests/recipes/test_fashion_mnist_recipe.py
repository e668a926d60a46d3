"""recipes/fashion_mnist_vit.py through `keras-vit train --recipe` on a few real Fashion-MNIST images."""

import pathlib

import keras
import pytest

from keras_vit.cli import main

pytestmark = pytest.mark.one_backend("torch")

RECIPE = pathlib.Path(__file__).resolve().parents[2] / "recipes" / "fashion_mnist_vit.py"


def test_recipe_trains_its_conv_stem_vit_and_prints_the_test_accuracy(data_dir, tmp_path, capsys):
    from keras_vit.data import write_fashion_mnist_subset

    (tmp_path / "data").mkdir()
    few = write_fashion_mnist_subset(data_dir / "fashion-mnist", tmp_path / "data", num_train=64, num_test=32)
    status = main(["train", "--recipe", str(RECIPE), "--data-dir", str(few), "--epochs", "1", "--batch-size", "32",
                   "--output-dir", str(tmp_path / "run")])  # fmt: skip

    assert status in (None, 0)
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("test_accuracy: ")
    model = keras.saving.load_model(tmp_path / "run" / "model.keras", compile=False)
    encoder = model.get_layer("patch_encoder")
    assert (encoder.patch_embedding, encoder.stem.widths, encoder.grid_size) == ("conv_stem", [32, 64], (7, 7))
    assert encoder.stem.entry_width == 16
