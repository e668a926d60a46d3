"""recipes/finetune.py: layer-wise learning-rate decay, and a short end-to-end run on real CIFAR-10 JPEGs."""

import importlib.util
import pathlib
import shutil
import tarfile

import keras
import numpy as np
import pytest
from safetensors.numpy import load_file

import keras_vit

RECIPE = pathlib.Path(__file__).resolve().parents[2] / "recipes" / "finetune.py"
_spec = importlib.util.spec_from_file_location("finetune", RECIPE)
finetune = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(finetune)

TINY_VIT = dict(image_size=16, patch_size=4, dim=32, depth=2, num_heads=4, mlp_dim=64)


def test_layer_decay_scales_each_layers_step():
    model = keras_vit.build_vit(num_classes=5, **TINY_VIT)
    multipliers = finetune.layer_decay_multipliers(model, 0.5)
    assert multipliers["head/kernel"] == multipliers["norm/gamma"] == 1.0
    assert (multipliers["block_1/fc1/kernel"], multipliers["block_0/attn/qkv/bias"]) == (0.5, 0.25)
    assert multipliers["patch_encoder/cls_token"] == multipliers["patch_encoder/projection/kernel"] == 0.125
    # One variable per depth: every optimizer step below is an op per variable (and, on JAX, a compile).
    variables = [model.get_layer(name).weights[0] for name in ("patch_encoder", "block_0", "block_1", "head")]
    before = [keras.ops.convert_to_numpy(variable) for variable in variables]

    # Adam's first step moves every weight by lr * sign(gradient); here scaled by the layer's multiplier.
    adam = finetune.LayerDecayAdamW(multipliers, learning_rate=0.01, weight_decay=0.0, epsilon=1e-12)
    adam.apply([keras.ops.ones(variable.shape) for variable in variables], variables)
    for variable, old in zip(variables, before):
        step = old - keras.ops.convert_to_numpy(variable)
        np.testing.assert_allclose(step, 0.01 * multipliers[variable.path], rtol=1e-3, err_msg=variable.path)

    # With zero gradients only the decoupled weight decay acts: w -= w * weight_decay * lr * multiplier.
    decay = finetune.LayerDecayAdamW(multipliers, learning_rate=0.01, weight_decay=0.5)
    middle = [keras.ops.convert_to_numpy(variable) for variable in variables]
    decay.apply([keras.ops.zeros(variable.shape) for variable in variables], variables)
    for variable, old in zip(variables, middle):
        expected = old * (1 - 0.5 * 0.01 * multipliers[variable.path])
        np.testing.assert_allclose(keras.ops.convert_to_numpy(variable), expected, rtol=1e-6, err_msg=variable.path)


@pytest.fixture(scope="module")
def cifar_folder(data_dir, tmp_path_factory):
    """Four real CIFAR-10 JPEGs for each of two classes, in an image folder."""
    root = tmp_path_factory.mktemp("cifar")
    wanted = {f"train/{name}/{index:04d}.jpg" for name in ("cat", "ship") for index in range(4)}
    with tarfile.open(data_dir / "cifar10-jpg.tar.gz") as archive:
        for member in archive:
            if member.name in wanted:
                target = root / member.name.replace("train/", "")
                target.parent.mkdir(exist_ok=True)
                with archive.extractfile(member) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
                wanted.discard(member.name)
            if not wanted:
                break
    return root


def test_finetune_runs_and_saves_a_timm_checkpoint(tmp_path, cifar_folder):
    pretrained = keras_vit.build_vit(num_classes=10, **TINY_VIT)
    checkpoint = keras_vit.save_checkpoint(pretrained, tmp_path / "pretrained.safetensors")
    output = tmp_path / "tuned.safetensors"

    history = finetune.main([str(checkpoint), "--images", str(cifar_folder), "--image-size", "8", "16",
                             "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "4", "--warmup-steps", "1",
                             "--validation-split", "0", "--output", str(output)])

    assert np.isfinite(history.history["loss"][-1])
    tuned = load_file(output)
    assert tuned["head.weight"].shape == (2, 32) and tuned["pos_embed"].shape == (1, 1 + 2 * 4, 32)
    assert np.any(tuned["head.weight"] != 0)  # trained away from the zero-initialized new head
