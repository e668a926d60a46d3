"""recipes/cifar10_vit_cpu.py through `keras-vit train --recipe`, and benchmarks/cifar10_cpu.py, on a few real
CIFAR-10 JPEGs."""

import pathlib

import keras
import pytest
from script_module import load_script

from keras_vit.cli import main

pytestmark = pytest.mark.one_backend("torch")

REPO = pathlib.Path(__file__).resolve().parents[2]
RECIPE = REPO / "recipes" / "cifar10_vit_cpu.py"


@pytest.fixture(scope="module")
def script():
    """benchmarks/cifar10_cpu.py as a module."""
    return load_script("benchmarks/cifar10_cpu.py")


def test_recipe_trains_its_conv_stem_vit_on_the_image_folder(cifar_folder, tmp_path, capsys):
    status = main(["train", "--recipe", str(RECIPE), "--data-dir", str(cifar_folder), "--epochs", "1",
                   "--batch-size", "8", "--output-dir", str(tmp_path / "run")])  # fmt: skip

    assert status in (None, 0)
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("test_accuracy: ")
    model = keras.saving.load_model(tmp_path / "run" / "model.keras", compile=False)
    config = model.config
    assert (config.image_size, config.dim, config.depth, config.num_heads) == (32, 128, 4, 2)
    assert (model.patch_encoder.patch_embedding, model.patch_encoder.grid_size) == ("conv_stem", (8, 8))
    assert model.patch_encoder.stem.entry_width == 32
    assert model.class_names == ["airplane", "automobile", "bird"]


def test_benchmark_prints_each_epoch_the_matmul_rate_and_the_test_accuracy(script, cifar_folder, tmp_path, capsys):
    script.main(["--data-dir", str(cifar_folder), "--epochs", "2", "--set", "depth=1",
                 "--output-dir", str(tmp_path / "run")])  # fmt: skip

    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("test_accuracy: ")
    assert [line.split(":")[0] for line in lines if line.startswith("epoch ")] == ["epoch 1", "epoch 2"]
    rates = [float(line.split(": ")[1].split()[0]) for line in lines if line.startswith("float32 matmul")]
    assert len(rates) == 2 and all(rate > 0 for rate in rates)
    assert "'depth': 1" in next(line for line in lines if line.startswith("backend: "))


def test_step_speed_times_the_recipe_and_each_variant(script, capsys):
    script.main(["--step-speed", "depth=1", "depth=1,dim=64,mlp_dim=128", "--rounds", "1"])

    lines = capsys.readouterr().out.strip().splitlines()
    rows = {line.split(": ")[0]: line for line in lines[-3:]}
    assert list(rows) == ["recipe", "depth=1", "depth=1,dim=64,mlp_dim=128"]
    gflop = {name: float(row.split(", ")[1].split()[0]) for name, row in rows.items()}
    assert gflop["recipe"] > gflop["depth=1"] > gflop["depth=1,dim=64,mlp_dim=128"] > 0
    assert all(float(row.split(": ")[1].split()[0]) > 0 for row in rows.values())
