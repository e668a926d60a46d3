"""Every refusal names what is wrong, and nothing is assigned or written when it is raised."""

import json
import pathlib

import keras
import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

import keras_vit

TINY_FIELDS = dict(image_size=16, patch_size=4, dim=32, depth=2, num_heads=4, mlp_dim=64)
# Widths a multiple of timm's 64-wide heads, with vit_nano_patch4_28's weight shapes (JAX compiles
# initializers once per shape, so sharing them keeps the suite fast).
NANO_SHAPES = dict(dim=64, num_heads=1, mlp_dim=128, channels=1)


@pytest.fixture
def saved(tmp_path, make_vit):
    """A perturbed tiny ViT's timm-layout tensors (with keras_vit's metadata)."""
    path = keras_vit.save_checkpoint(make_vit(), tmp_path / "vit.safetensors")
    with safe_open(path, framework="numpy") as file:
        metadata = file.metadata()
    return load_file(path), metadata


def test_mismatch_lists_missing_unexpected_and_wrongly_shaped_tensors(tmp_path, saved):
    tensors, metadata = saved
    del tensors["blocks.1.mlp.fc2.bias"]
    tensors["blocks.0.attn.extra"] = np.zeros(3, "float32")
    tensors["blocks.0.mlp.fc1.weight"] = np.zeros((48, 32), "float32")
    save_file(tensors, tmp_path / "broken.safetensors", metadata=metadata)
    model = keras_vit.build_vit(num_classes=5, **TINY_FIELDS)
    before = keras.ops.convert_to_numpy(model.norm.gamma)

    with pytest.raises(ValueError) as error:
        keras_vit.load_weights(model, tmp_path / "broken.safetensors")

    message = str(error.value)
    assert "missing (1): blocks.1.mlp.fc2.bias" in message
    assert "unexpected (1): blocks.0.attn.extra" in message
    assert "wrong shape (1): blocks.0.mlp.fc1.weight (checkpoint (48, 32), model (64, 32))" in message
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.norm.gamma), before)


def test_named_config_that_does_not_fit_is_a_mismatch(tmp_path, saved):
    tensors, metadata = saved
    save_file(tensors, tmp_path / "vit.safetensors", metadata=metadata)
    with pytest.raises(ValueError, match=r"wrong shape .*patch_embed\.proj\.weight \(checkpoint \(32, 3, 4, 4\)"):
        keras_vit.load_checkpoint(tmp_path / "vit.safetensors", "vit_nano_patch4_28")


class _Payload:
    """Unpickling this would run `touch` on the marker path."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_pickle_with_objects_is_refused_without_running_them(tmp_path):
    marker = tmp_path / "executed"
    torch.save({"patch_embed.proj.weight": torch.zeros(32, 3, 4, 4), "evil": _Payload(str(marker))},
               tmp_path / "evil.pth")

    with pytest.raises(ValueError, match="Refusing to load .*evil.pth"):
        keras_vit.load_checkpoint(tmp_path / "evil.pth")
    assert not marker.exists()


def test_state_dict_with_non_tensor_entries_is_refused(tmp_path):
    torch.save({"patch_embed.proj.weight": torch.zeros(32, 3, 4, 4), "step": 3}, tmp_path / "mixed.pth")
    with pytest.raises(ValueError, match="entries that are not tensors: step"):
        keras_vit.load_checkpoint(tmp_path / "mixed.pth")


def test_unreadable_paths_and_layouts(tmp_path):
    (tmp_path / "model.h5").write_bytes(b"")
    save_file({"conv.weight": np.zeros((2, 2), "float32")}, tmp_path / "other.safetensors")
    (tmp_path / "folder").mkdir()
    with pytest.raises(ValueError, match=r"suffix must be one of \.safetensors, \.npz, \.pth"):
        keras_vit.load_checkpoint(tmp_path / "model.h5")
    with pytest.raises(ValueError, match="neither a timm ViT state dict"):
        keras_vit.load_checkpoint(tmp_path / "other.safetensors")
    with pytest.raises(ValueError, match="needs config.json and one of model.safetensors"):
        keras_vit.load_checkpoint(tmp_path / "folder")
    with pytest.raises(FileNotFoundError, match="No checkpoint at"):
        keras_vit.load_checkpoint(tmp_path / "absent.safetensors")


def test_transformers_config_with_another_activation_is_refused(tmp_path, saved):
    tensors, _ = saved
    hf_names = {"patch_embed.proj.weight": "vit.embeddings.patch_embeddings.projection.weight"}
    save_file({hf_names.get(key, key): value for key, value in tensors.items()}, tmp_path / "model.safetensors")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "vit", "hidden_act": "gelu_new"}))
    with pytest.raises(ValueError, match="hidden_act 'gelu_new' is not supported"):
        keras_vit.load_checkpoint(tmp_path)


def test_what_shapes_cannot_tell_must_be_recorded(tmp_path, saved, make_vit):
    tensors, _ = saved
    save_file(tensors, tmp_path / "no_metadata.safetensors")
    with pytest.raises(ValueError, match=r"does not record the input normalization .* pass input_normalization="):
        keras_vit.load_checkpoint(tmp_path / "no_metadata.safetensors")
    with pytest.raises(ValueError, match=r"does not record its number of attention heads \(shapes give only the width "
                                         r"32\); its pooling: .*Pass num_heads=, pooling= to load_checkpoint"):
        keras_vit.load_checkpoint(tmp_path / "no_metadata.safetensors", input_normalization=(0, 1))

    wide = keras_vit.save_checkpoint(make_vit(**NANO_SHAPES, image_size=(8, 24)), tmp_path / "wide.safetensors")
    unmarked = load_file(wide)
    save_file(unmarked, tmp_path / "wide_plain.safetensors")
    told_facts = dict(input_normalization=(0, 1), num_heads=1, pooling="token")
    with pytest.raises(ValueError, match="cannot tell the patch grid of its 13 position embeddings"):
        keras_vit.load_checkpoint(tmp_path / "wide_plain.safetensors", **told_facts)
    told = keras_vit.load_checkpoint(tmp_path / "wide_plain.safetensors", image_size=(8, 24), **told_facts)
    assert told.input_shape[1:3] == (8, 24)


def test_bad_arguments_are_refused_before_reading(tmp_path):
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        keras_vit.load_checkpoint(tmp_path / "absent.safetensors", num_classes=0)
    with pytest.raises(ValueError, match="image_size must be a positive int"):
        keras_vit.load_checkpoint(tmp_path / "absent.safetensors", image_size=-3)


def test_save_refusals_write_nothing(tmp_path, make_vit):
    model = make_vit(init_values=1e-5)
    with pytest.raises(ValueError, match="format must be one of 'timm', 'npz'; got 'onnx'"):
        keras_vit.save_checkpoint(model, tmp_path / "vit.onnx", format="onnx")
    with pytest.raises(ValueError, match="writes a .safetensors file; got path"):
        keras_vit.save_checkpoint(model, tmp_path / "vit.pth")
    with pytest.raises(ValueError, match="no name for these weights: blocks.0.ls1.gamma"):
        keras_vit.save_checkpoint(model, tmp_path / "vit.npz", format="npz")
    with pytest.raises(ValueError, match="patch_embedding='conv_stem' has no timm, Hugging Face or big_vision"):
        keras_vit.save_checkpoint(keras_vit.build_vit(num_classes=5, patch_embedding="conv_stem", **TINY_FIELDS),
                                  tmp_path / "stem.safetensors")

    images = keras.Input((16, 16, 3))
    features = keras_vit.build_vit(num_classes=None, include_top=False, **TINY_FIELDS)(images)
    stacked = keras.Model(images, keras.layers.Dense(3, name="pre_logits")(features))
    # A ViT inside another model: the outer model is no VisionTransformer (its parts are not declared).
    with pytest.raises(ValueError, match="A timm-layout checkpoint needs a keras_vit VisionTransformer .* got Functional"):
        keras_vit.save_checkpoint(stacked, tmp_path / "stacked.safetensors")
    assert sorted(path.name for path in tmp_path.iterdir()) == []
