"""recipes/finetune.py end to end on real CIFAR-10 JPEGs: a checkpoint of each family in, a trained run and timm
weights out."""

import json
import pathlib
import shutil
import tarfile

import keras
import numpy as np
import pytest
import transformers
from safetensors.numpy import load_file, save_file
from script_module import load_script

import keras_vit
from keras_vit.training import LayerDecayAdamW

pytestmark = pytest.mark.one_backend("torch")

finetune = load_script("recipes/finetune.py")

TINY_VIT = dict(image_size=16, patch_size=4, dim=32, depth=2, num_heads=4, mlp_dim=64)
# XLA compiles slowly on CPU under TensorFlow; JAX always compiles (eager JAX is far slower).
JIT = keras.backend.backend() == "jax"


@pytest.fixture(scope="module")
def cifar_folder(data_dir, tmp_path_factory):
    """Real CIFAR-10 JPEGs of two classes in an image folder: 4 per class in train/, 2 in test/, 2 in
    validation/ (so all 8 training images train)."""
    root = tmp_path_factory.mktemp("cifar")
    wanted = {f"train/{name}/{index:04d}.jpg": "train" if index < 4 else "test" if index < 6 else "validation"
              for name in ("cat", "ship") for index in range(8)}  # fmt: skip
    with tarfile.open(data_dir / "cifar10-jpg.tar.gz") as archive:
        for member in archive:
            split = wanted.pop(member.name, None)
            if split is not None:
                target = root / split / pathlib.PurePosixPath(member.name).relative_to("train")
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.extractfile(member) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
            if not wanted:
                break
    assert not wanted, f"not in the archive: {sorted(wanted)}"
    return root


def test_finetune_recipe_trains_from_a_checkpoint_and_writes_timm_weights(tmp_path, cifar_folder):
    pretrained = keras_vit.build_vit(num_classes=10, **TINY_VIT)  # 16x16 images: a 4x4 patch grid
    checkpoint = keras_vit.save_checkpoint(pretrained, tmp_path / "pretrained.safetensors")
    run_dir, output = tmp_path / "run", tmp_path / "tuned.safetensors"

    finetune.main([
        "--checkpoint", str(checkpoint), "--data", "folder", "--data-dir", str(cifar_folder),
        "--image-size", "(8, 16)", "--epochs", "1", "--batch-size", "4", "--output-dir", str(run_dir),
        "--no-tensorboard", "--verbose", "0", "--jit-compile", str(JIT), "--timm-output", str(output),
        # Two steps at a rate high enough to move every layer: the first trains the zero head, the
        # second (through the now non-zero head) the blocks below it.
        "--warmup-epochs", "0", "--base-learning-rate", "0.5",
    ])  # fmt: skip

    model = keras.saving.load_model(run_dir / "model.keras")
    assert model.input_shape == (None, 8, 16, 3) and model.output_shape == (None, 2)
    assert model.input_normalization is None  # the checkpoint's: keras_vit recorded pixels scaled to [0, 1]
    assert isinstance(model.optimizer, LayerDecayAdamW) and int(model.optimizer.iterations) == 2
    assert model.optimizer.multipliers["head/kernel"] == 1.0
    assert model.optimizer.multipliers["patch_encoder/projection/kernel"] == pytest.approx(0.75**3)
    tuned = load_file(output)
    assert tuned["head.weight"].shape == (2, 32) and tuned["pos_embed"].shape == (1, 1 + 2 * 4, 32)
    assert np.any(tuned["head.weight"] != 0)  # trained away from the zero-initialized new head
    # The blocks started from the checkpoint, and the lowest layers took the smallest steps (Adam's steps
    # are about lr * multiplier each: 0.75 ** 3 for the patch embedding against 0.75 for the last block).
    start = load_file(checkpoint)
    change = lambda key: np.abs(tuned[key] - start[key]).max()  # noqa: E731
    assert 0 < change("patch_embed.proj.weight") < 0.8 * change("blocks.1.mlp.fc1.weight")


def test_finetune_recipe_checks_its_own_option_before_any_work(tmp_path, cifar_folder):
    with pytest.raises(SystemExit, match="--timm-output must be a .safetensors path; got 'tuned.pth'"):
        finetune.main(["--checkpoint", "x.safetensors", "--data-dir", str(cifar_folder), "--timm-output", "tuned.pth"])
    with pytest.raises(SystemExit, match="model='auto' reads the architecture from a checkpoint"):
        finetune.main(["--data-dir", str(cifar_folder), "--output-dir", str(tmp_path / "run")])
    assert not (tmp_path / "run").exists()


IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
CLIP = ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))
HF_SIZES = dict(image_size=16, patch_size=4, hidden_size=32, num_hidden_layers=2, num_attention_heads=4)


def _transformers_folder(folder, model, mean, std):
    """A randomly initialized transformers model and its image processor, as save_pretrained writes them."""
    model.save_pretrained(folder)
    transformers.BitImageProcessor(image_mean=list(mean), image_std=list(std)).save_pretrained(folder)
    return folder


def _timm_folder(folder, model, mean, std, **model_args):
    """A randomly initialized model's timm state dict and the config.json timm writes beside it."""
    folder.mkdir()
    save_file(load_file(keras_vit.save_checkpoint(model, folder.parent / "source.safetensors")), folder / "model.safetensors")
    config = {"architecture": "vit_tiny_custom", "num_classes": 10, "global_pool": "token", "model_args": model_args,
              "pretrained_cfg": {"input_size": [3, 16, 16], "mean": list(mean), "std": list(std)}}  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config))
    return folder


# family: (write the checkpoint into a folder, its normalization, a timm key of its kind, pos_embed prefix rows)
FAMILIES = {
    "dinov2": (lambda f: _transformers_folder(f, transformers.Dinov2Model(transformers.Dinov2Config(**HF_SIZES, mlp_ratio=2)), *IMAGENET),
               IMAGENET, "blocks.1.ls2.gamma", 1),
    "dinov2_registers": (lambda f: _transformers_folder(f, transformers.Dinov2WithRegistersModel(
        transformers.Dinov2WithRegistersConfig(**HF_SIZES, mlp_ratio=2, num_register_tokens=2)), *IMAGENET),
        IMAGENET, "reg_token", 0),
    "clip": (lambda f: _transformers_folder(f, transformers.CLIPVisionModelWithProjection(
        transformers.CLIPVisionConfig(**HF_SIZES, intermediate_size=64, projection_dim=8)), *CLIP), CLIP, "norm_pre.weight", 1),
    "siglip": (lambda f: _transformers_folder(f, transformers.SiglipVisionModel(
        transformers.SiglipVisionConfig(**HF_SIZES, intermediate_size=64)), (0.5,) * 3, (0.5,) * 3),
        ((0.5,) * 3, (0.5,) * 3), "attn_pool.kv.weight", 0),
    "deit3": (lambda f: _timm_folder(f, keras_vit.build_vit(num_classes=10, no_embed_class=True, init_values=1e-6, **TINY_VIT),
                                     *IMAGENET, num_heads=4, no_embed_class=True, init_values=1e-6),
              IMAGENET, "blocks.0.ls1.gamma", 0),
}  # fmt: skip


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_finetune_recipe_trains_each_family_from_its_checkpoint(tmp_path, cifar_folder, family):
    write, normalization, family_key, prefix_rows = FAMILIES[family]
    checkpoint = write(tmp_path / "pretrained")
    run_dir, output = tmp_path / "run", tmp_path / "tuned.safetensors"

    finetune.main([
        "--checkpoint", str(checkpoint), "--data", "folder", "--data-dir", str(cifar_folder),
        "--image-size", "(8, 16)", "--epochs", "1", "--batch-size", "4", "--output-dir", str(run_dir),
        "--no-tensorboard", "--verbose", "0", "--jit-compile", str(JIT), "--timm-output", str(output),
        "--warmup-epochs", "0", "--base-learning-rate", "0.5",
    ])  # fmt: skip

    model = keras.saving.load_model(run_dir / "model.keras")
    assert model.input_shape == (None, 8, 16, 3) and model.output_shape == (None, 2)
    assert model.input_normalization == normalization  # the checkpoint's, in the model's preprocessing
    assert int(model.optimizer.iterations) == 2
    tuned = load_file(output)
    assert family_key in tuned and tuned["head.weight"].shape == (2, 32) and np.any(tuned["head.weight"] != 0)
    assert tuned["pos_embed"].shape == (1, prefix_rows + 2 * 4, 32)
