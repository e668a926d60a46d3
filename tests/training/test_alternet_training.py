"""`keras-vit train --model alternet` trains AlterNet through train() on real Fashion-MNIST images."""

import json

import keras
import pytest

import keras_vit
from keras_vit.cli import main
from keras_vit.training import TrainConfig
from keras_vit.training.train import check_config
from tiny_training import TEST_JIT


def test_the_cli_trains_and_saves_an_alternet(tiny_idx_dir, tmp_path, capsys):
    out = tmp_path / "run"
    main(["train", "--model", "alternet", "--set", "widths=(4, 8)", "--set", "num_heads=(0, 2)",
          "--data", "fashion_mnist_idx", "--data-dir", str(tiny_idx_dir), "--epochs", "1", "--batch-size", "64",
          "--output-dir", str(out), "--no-tensorboard", "--verbose", "0", "--jit-compile", str(TEST_JIT)])  # fmt: skip
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("test_accuracy: ")
    model = keras_vit.load_model(out / "model.keras")
    assert type(model) is keras_vit.AlterNet and model.widths == (4, 8) and model.num_heads == (0, 2)
    assert model.image_shape == (28, 28, 1) and model.class_names[:2] == ["T-shirt/top", "Trouser"]
    assert 0.0 <= json.loads((out / "result.json").read_text())["test_accuracy"] <= 1.0
    assert keras.ops.convert_to_numpy(model(keras.ops.zeros((2, 28, 28, 1)))).shape == (2, 10)


def test_alternet_configs_are_checked_before_any_work():
    check_config(TrainConfig(model="alternet", model_overrides={}))
    with pytest.raises(ValueError, match="layer_decay=0.5 needs a ViT or DeiT .* model is 'alternet'"):
        check_config(TrainConfig(model="alternet", model_overrides={}, layer_decay=0.5))
    with pytest.raises(ValueError, match=r"model_overrides \['class_token', 'depth', 'pooling'\] are not arguments of build_alternet; valid: "
                                         r"widths, blocks_per_stage, num_heads, mlp_ratio"):
        check_config(TrainConfig(model="alternet"))  # the default recipe's ViT overrides
    check_config(TrainConfig(model="alternet", model_overrides=dict(num_heads=(0, 1, 2), mlp_ratio=4)))
