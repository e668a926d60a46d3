"""The fine-tuning fields of `TrainConfig` (checkpoint, layer_decay, input_normalization): their checks,
all raised before any work, their JSON, their `keras-vit train` flags, and the model a checkpoint gives."""

import json
import pathlib
import sys

import keras
import numpy as np
import pytest

import keras_vit
from keras_vit.cli import parse_args
from keras_vit.training import Distribution, TrainConfig, train
from keras_vit.training.cli import config_from_args
from keras_vit.training.train import build_model, check_config, check_distribution

FINETUNE = str(pathlib.Path(__file__).resolve().parents[2] / "recipes" / "finetune.py")
TINY_VIT = dict(image_size=16, patch_size=4, dim=32, depth=2, num_heads=4, mlp_dim=64)


@pytest.fixture
def checkpoint(tmp_path):
    return str(keras_vit.save_checkpoint(keras_vit.build_vit(num_classes=10, **TINY_VIT), tmp_path / "vit.safetensors"))


def test_check_config_refuses_what_a_checkpoint_does_not_fit(tmp_path, checkpoint):
    with pytest.raises(ValueError, match="model='auto' reads the architecture from a checkpoint, but no checkpoint"):
        check_config(TrainConfig(model="auto", model_overrides={}))
    with pytest.raises(ValueError, match=r"model_overrides \{'depth': 4.*\} cannot apply to the weights of checkpoint"):
        check_config(TrainConfig(model="auto", checkpoint=checkpoint))  # the default model's overrides
    missing = str(tmp_path / "missing.safetensors")
    with pytest.raises(FileNotFoundError, match=f"Checkpoint '{missing}' not found"):
        check_config(TrainConfig(model="auto", model_overrides={}, checkpoint=missing))
    with pytest.raises(ValueError, match="Unknown config name 'vit_huge'"):
        check_config(TrainConfig(model="vit_huge", model_overrides={}, checkpoint=checkpoint))
    with pytest.raises(ValueError, match="model must be 'auto' or a ViT / DeiT config name, not 'resnet'"):
        check_config(TrainConfig(model="resnet", model_overrides={}, checkpoint=checkpoint))
    with pytest.raises(ValueError, match="layer_decay=0.5 needs a ViT or DeiT"):
        check_config(TrainConfig(model="resnet", model_overrides={}, layer_decay=0.5))
    check_config(TrainConfig(model="auto", model_overrides={}, checkpoint=checkpoint, layer_decay=1))


@pytest.mark.parametrize("bad", [0, 0.0, 1.01, -0.75, True, "0.75"])
def test_layer_decay_outside_0_1_is_refused(bad):
    with pytest.raises(ValueError, match=rf"layer_decay must be a number in \(0, 1\] \(1: no decay\); got {bad!r}"):
        TrainConfig(layer_decay=bad)


def test_input_normalization_is_checked_and_written_as_json():
    with pytest.raises(ValueError, match=r"input_normalization must be a pair \(mean, std\)"):
        TrainConfig(input_normalization=(0.5,))
    with pytest.raises(ValueError, match=r"std must be > 0 everywhere; got std=\(-1.0,\)"):
        TrainConfig(input_normalization=(0.5, -1))
    config = TrainConfig(input_normalization=([0.5, 0.4, 0.3], 0.5))
    assert config.input_normalization == ((0.5, 0.4, 0.3), (0.5,))
    assert json.loads(config.to_json())["input_normalization"] == [[0.5, 0.4, 0.3], [0.5]]


def test_layer_decay_with_several_tf_distribute_replicas_is_refused(tmp_path, checkpoint, monkeypatch):
    config = TrainConfig(model="auto", model_overrides={}, checkpoint=checkpoint, layer_decay=0.75,
                         data="folder", data_dir=str(tmp_path / "none"), output_dir=str(tmp_path / "run"))  # fmt: skip
    two_replicas = Distribution("two replicas", 2)
    check_distribution(config, Distribution("one device", 1))
    check_distribution(config.replace(layer_decay=None), two_replicas)
    if keras.backend.backend() != "tensorflow":  # JAX's DataParallel applies the decay in one program
        check_distribution(config, two_replicas)
        return
    # train() refuses it as soon as the distribution is known: before reading data or writing the run folder.
    train_module = sys.modules["keras_vit.training.train"]  # `keras_vit.training.train` is the function
    monkeypatch.setattr(train_module, "get_distribution", lambda strategy: two_replicas)
    with pytest.raises(ValueError, match="layer_decay=0.75 is not supported with 2 tf.distribute replicas"):
        train(config)
    assert not (tmp_path / "run").exists()


def test_cli_flags_for_fine_tuning(checkpoint):
    def config(*args, recipe="default"):
        return config_from_args(parse_args(["train", "--recipe", recipe, *args]))

    # --checkpoint without --model reads the architecture from the file, dropping the recipe's overrides.
    tuned = config("--checkpoint", checkpoint, "--layer-decay", "0.65", "--input-normalization", "0.5", "0.4,0.3,0.2")
    assert (tuned.model, tuned.model_overrides, tuned.checkpoint) == ("auto", {}, checkpoint)
    assert tuned.layer_decay == 0.65 and tuned.input_normalization == ((0.5,), (0.4, 0.3, 0.2))
    assert config("--checkpoint", checkpoint, "--model", "vit_nano_patch4_28").model == "vit_nano_patch4_28"

    recipe = config(recipe=FINETUNE)
    assert (recipe.model, recipe.layer_decay, recipe.input_normalization) == ("auto", 0.75, None)  # the checkpoint's
    told = config("--input-normalization", "0.5", "0.5", recipe=FINETUNE)
    assert told.input_normalization == ((0.5,), (0.5,))
    off = config("--layer-decay", "None", "--no-input-normalization", "--clipnorm", "None", recipe=FINETUNE)
    assert (off.layer_decay, off.input_normalization, off.clipnorm) == (None, None, None)
    with pytest.raises(SystemExit):  # argparse: two values, numbers
        config("--input-normalization", "0.5", "x")


def data_info(image_shape, class_names=("cat", "dog", "eel")):
    return dict(image_shape=image_shape, num_classes=len(class_names), class_names=list(class_names))


def test_checkpoint_model_fits_the_data(checkpoint):
    config = TrainConfig(model="auto", model_overrides={}, checkpoint=checkpoint, precision="mixed_bfloat16",
                         input_normalization=(0.5, 0.5))  # fmt: skip
    model = build_model(config, data_info((8, 12, 3)))
    assert model.input_shape == (None, 8, 12, 3) and model.output_shape == (None, 3)
    assert model.class_names == ["cat", "dog", "eel"] and model.input_normalization == ((0.5,), (0.5,))
    assert model.patch_encoder.grid_size == (2, 3)
    assert model.blocks[0].compute_dtype == "bfloat16"  # built under the run's dtype policy
    assert model.head.compute_dtype == "float32"
    assert not np.any(keras.ops.convert_to_numpy(model.head.kernel))  # the new head starts at zero
    with pytest.raises(ValueError, match=f"Checkpoint '{checkpoint}' takes 3-channel images, but the data"):
        build_model(config, data_info((8, 12, 1)))
