"""keras_vit -> timm layout -> keras_vit and keras_vit -> npz layout -> keras_vit, exactly; inferred architectures."""

import keras
import numpy as np
import pytest
import torch
from safetensors.numpy import load_file, save_file
from timm_reference import timm_forward

import keras_vit
from keras_vit.checkpoints.architecture import infer_fields, position_grid

TINY_FIELDS = dict(patch_size=4, dim=32, depth=2, num_heads=4, mlp_dim=64, channels=3)

def test_timm_layout_names_shapes_and_forward(tmp_path, make_vit, images, logits):
    model = make_vit()

    tensors = load_file(keras_vit.save_checkpoint(model, tmp_path / "vit.safetensors"))

    expected = {"patch_embed.proj.weight": (32, 3, 4, 4), "patch_embed.proj.bias": (32,), "cls_token": (1, 1, 32),
                "pos_embed": (1, 17, 32), "norm.weight": (32,), "norm.bias": (32,), "head.weight": (5, 32),
                "head.bias": (5,)}
    for index in range(2):
        block = {"norm1.weight": (32,), "norm1.bias": (32,), "attn.qkv.weight": (96, 32), "attn.qkv.bias": (96,),
                 "attn.proj.weight": (32, 32), "attn.proj.bias": (32,), "norm2.weight": (32,), "norm2.bias": (32,),
                 "mlp.fc1.weight": (64, 32), "mlp.fc1.bias": (64,), "mlp.fc2.weight": (32, 64), "mlp.fc2.bias": (32,)}
        expected.update({f"blocks.{index}.{key}": shape for key, shape in block.items()})
    assert {key: value.shape for key, value in tensors.items()} == expected
    np.testing.assert_allclose(timm_forward(tensors, images, num_heads=4), logits(model, images), atol=1e-5)


def test_timm_round_trip_with_layer_scale_qk_norm_linear_patches_rectangular(tmp_path, make_vit, images, logits,
                                                                             assert_same_weights):
    # An 8x32 image has the 16 patches of the other tests' 16x16 ones (JAX compiles once per shape).
    config = dict(init_values=1e-5, qk_norm=True, qkv_bias=False, patch_embedding="linear", image_size=(8, 32))
    model = make_vit(**config)
    path = keras_vit.save_checkpoint(model, tmp_path / "vit.safetensors")
    pictures = np.random.default_rng(0).uniform(0, 1, (3, 8, 32, 3)).astype("float32")

    reloaded = keras_vit.load_weights(keras_vit.build_vit(num_classes=5, **{**TINY_FIELDS, **config}), path)
    rebuilt = keras_vit.load_checkpoint(path)  # conv patch embedding, architecture read from the file

    assert_same_weights(model, reloaded)
    assert rebuilt.input_shape == (None, 8, 32, 3)
    np.testing.assert_allclose(logits(rebuilt, pictures), logits(model, pictures), atol=1e-5)
    reference = timm_forward(load_file(path), pictures, num_heads=4)
    np.testing.assert_allclose(reference, logits(model, pictures), atol=1e-5)


def test_timm_round_trip_of_gap_model_keeps_heads_epsilon_and_pooling(tmp_path, make_vit, images, logits,
                                                                     assert_same_weights):
    model = make_vit(class_token=False, pooling="gap", layer_norm_epsilon=1e-5)
    path = keras_vit.save_checkpoint(model, tmp_path / "vit.safetensors")

    rebuilt = keras_vit.load_checkpoint(path)

    assert_same_weights(model, rebuilt)
    block = rebuilt.blocks[0]
    assert (block.num_heads, block.layer_norm_epsilon, rebuilt.pool.pooling) == (4, 1e-5, "gap")
    np.testing.assert_array_equal(logits(rebuilt, images), logits(model, images))
    reference = timm_forward(load_file(path), images, num_heads=4, pooling="gap", eps=1e-5)
    np.testing.assert_allclose(reference, logits(model, images), atol=1e-5)


def test_sincos2d_model_saves_as_the_equivalent_learned_table(tmp_path, make_vit, images, logits, assert_same_weights):
    model = make_vit(position_embedding="sincos2d")
    path = keras_vit.save_checkpoint(model, tmp_path / "vit.safetensors")

    rebuilt = keras_vit.load_checkpoint(path)
    reloaded = keras_vit.load_weights(keras_vit.build_vit(num_classes=5, position_embedding="sincos2d",
                                                          image_size=16, **TINY_FIELDS), path)

    assert rebuilt.patch_encoder.position_embedding == "learned"
    np.testing.assert_allclose(logits(rebuilt, images), logits(model, images), atol=1e-6)
    assert_same_weights(model, reloaded)


def test_npz_round_trip_in_google_layout(tmp_path, make_vit, images, logits, assert_same_weights):
    model = make_vit()
    path = keras_vit.save_checkpoint(model, tmp_path / "vit.npz", format="npz")

    with np.load(path) as file:
        shapes = {key: file[key].shape for key in file.files}
    rebuilt = keras_vit.load_checkpoint(path, input_normalization=(0, 1))  # an npz records no normalization

    block = "Transformer/encoderblock_1/"
    assert shapes["embedding/kernel"] == (4, 4, 3, 32) and shapes["cls"] == (1, 1, 32)
    assert shapes["Transformer/posembed_input/pos_embedding"] == (1, 17, 32) and shapes["head/kernel"] == (32, 5)
    assert shapes[block + "MultiHeadDotProductAttention_1/query/kernel"] == (32, 4, 8)
    assert shapes[block + "MultiHeadDotProductAttention_1/value/bias"] == (4, 8)
    assert shapes[block + "MultiHeadDotProductAttention_1/out/kernel"] == (4, 8, 32)
    assert shapes[block + "MlpBlock_3/Dense_0/kernel"] == (32, 64) and shapes[block + "LayerNorm_2/scale"] == (32,)
    assert len(shapes) == 8 + 2 * 16
    assert_same_weights(model, rebuilt)
    np.testing.assert_array_equal(logits(rebuilt, images), logits(model, images))


def _as_big_vision(npz_path, depth):
    """Google npz -> big_vision naming: params/ prefix, scanned blocks, CLS-less pos_embedding at the top."""
    renames = {"MultiHeadDotProductAttention_1/": "MultiHeadDotProductAttention_0/", "LayerNorm_2/": "LayerNorm_1/",
               "MlpBlock_3/": "MlpBlock_0/"}
    with np.load(npz_path) as file:
        tensors = {key: file[key] for key in file.files}
    out = {"params/pos_embedding": tensors.pop("Transformer/posembed_input/pos_embedding")[:, 1:]}
    block_keys = [key for key in tensors if key.startswith("Transformer/encoderblock_0/")]
    for key in block_keys:
        suffix = key[len("Transformer/encoderblock_0/"):]
        stacked = np.stack([tensors.pop(f"Transformer/encoderblock_{i}/{suffix}") for i in range(depth)])
        for old, new in renames.items():
            suffix = suffix.replace(old, new)
        out["params/Transformer/encoderblock/" + suffix] = stacked
    out.update({"params/" + key: value for key, value in tensors.items()})
    return out


def test_big_vision_npz_with_scanned_blocks_loads(tmp_path, make_vit, images, logits):
    model = make_vit()
    table = model.patch_encoder.position_embeddings
    table.assign(np.concatenate([np.zeros((1, 1, 32), "float32"), keras.ops.convert_to_numpy(table)[:, 1:]], axis=1))
    google = keras_vit.save_checkpoint(model, tmp_path / "google.npz", format="npz")
    np.savez(tmp_path / "big_vision.npz", **_as_big_vision(google, depth=2))

    rebuilt = keras_vit.load_checkpoint(tmp_path / "big_vision.npz", input_normalization=(0, 1))

    # big_vision's table has no CLS row: the model keeps it so (timm's no_embed_class), with the same weights.
    assert rebuilt.config.no_embed_class and rebuilt.pool.pooling == "token" and rebuilt.blocks[0].num_heads == 4
    weights = lambda m: {v.path: keras.ops.convert_to_numpy(v) for v in m.weights}  # noqa: E731
    ours, theirs = weights(model), weights(rebuilt)
    table_path = model.patch_encoder.position_embeddings.path
    np.testing.assert_array_equal(theirs.pop(table_path), ours.pop(table_path)[:, 1:])
    assert sorted(ours) == sorted(theirs)
    for path, value in ours.items():
        np.testing.assert_array_equal(theirs[path], value, err_msg=path)
    np.testing.assert_allclose(logits(rebuilt, images), logits(model, images), atol=1e-6)


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_plain_timm_state_dict_loads(tmp_path, suffix, make_vit, images, logits):
    """A state dict as timm writes it: no keras_vit metadata; a .pth may wrap it in a training checkpoint."""
    model = make_vit()
    tensors = load_file(keras_vit.save_checkpoint(model, tmp_path / "with_metadata.safetensors"))
    path = tmp_path / f"plain{suffix}"
    if suffix == ".pth":
        torch.save({"state_dict": {key: torch.from_numpy(value) for key, value in tensors.items()}, "epoch": 3}, path)
    else:
        save_file(tensors, path)

    reloaded = keras_vit.load_weights(keras_vit.build_vit(num_classes=5, image_size=16, **TINY_FIELDS), path)

    np.testing.assert_array_equal(logits(reloaded, images), logits(model, images))


def test_bfloat16_safetensors_load_as_float32(tmp_path, make_vit, assert_same_weights):
    import safetensors.torch

    model = make_vit()
    path = keras_vit.save_checkpoint(model, tmp_path / "vit.safetensors")
    with safetensors.safe_open(path, framework="pt") as file:
        halved = {key: file.get_tensor(key).bfloat16() for key in file.keys()}
        metadata = file.metadata()
    safetensors.torch.save_file(halved, tmp_path / "bf16.safetensors", metadata=metadata)
    for variable in model.weights:  # the reference: the same weights rounded to bfloat16
        rounded = torch.from_numpy(keras.ops.convert_to_numpy(variable)).bfloat16().float().numpy()
        variable.assign(rounded)

    rebuilt = keras_vit.load_checkpoint(tmp_path / "bf16.safetensors")

    assert_same_weights(model, rebuilt)


def test_architecture_is_inferred_from_shapes_and_the_facts_they_cannot_give():
    """Without a recorded config: shapes give the sizes and parts, timm's epsilon 1e-6 and GELU (no pre-norm,
    attention pool or CLS-less layout, where timm's models differ), a square grid; the heads and the pooling
    of a CLS token with a final norm must be told."""
    shapes = {"patch_embed.proj.weight": (128, 3, 16, 8), "cls_token": (1, 1, 128), "pos_embed": (1, 1 + 6 * 6, 128),
              "blocks.0.attn.qkv.weight": (384, 128), "blocks.0.mlp.fc1.weight": (512, 128),
              "blocks.0.ls1.gamma": (128,), "blocks.1.mlp.fc1.weight": (512, 128), "head.weight": (7, 128)}
    tensors = {key: np.zeros(shape, "float32") for key, shape in shapes.items()}

    with pytest.raises(ValueError, match="test does not record its number of attention heads .*; its pooling"):
        infer_fields(tensors, {}, "test")
    fields = infer_fields(tensors, {"num_heads": 2, "pooling": "token"}, "test")

    assert fields == dict(patch_size=(16, 8), dim=128, depth=2, mlp_dim=512, channels=3, class_token=True,
                          distillation_token=False, reg_tokens=0, position_embedding="learned", norm_pre=False,
                          qkv_bias=False, qk_norm=False, init_values=1e-5, fc_norm=False, layer_norm_epsilon=1e-6,
                          activation="gelu", pooling="token", num_heads=2)
    assert position_grid(tensors, 1, (16, 8), None, None, "test") == (6, 6)
def test_position_table_without_prefix_rows_gets_zero_prefix_positions(tmp_path, make_vit):
    """timm's no_embed_class checkpoints: pos_embed covers the patches only; the CLS token has no position."""
    model = make_vit()
    tensors = load_file(keras_vit.save_checkpoint(model, tmp_path / "vit.safetensors"))
    tensors["pos_embed"] = tensors["pos_embed"][:, 1:]
    save_file(tensors, tmp_path / "no_embed_class.safetensors")

    rebuilt = keras_vit.load_weights(keras_vit.build_vit(num_classes=5, image_size=16, **TINY_FIELDS),
                                     tmp_path / "no_embed_class.safetensors")

    table = keras.ops.convert_to_numpy(rebuilt.patch_encoder.position_embeddings)
    np.testing.assert_array_equal(table[:, 0], 0.0)
    np.testing.assert_array_equal(table[:, 1:], tensors["pos_embed"])


def test_new_num_classes_replaces_the_head_with_zeros(tmp_path, make_vit, images, logits):
    model = make_vit()
    path = keras_vit.save_checkpoint(model, tmp_path / "vit.safetensors")

    rebuilt = keras_vit.load_checkpoint(path, num_classes=3)

    head = rebuilt.head
    assert head.kernel.shape == (32, 3)
    np.testing.assert_array_equal(logits(rebuilt, images), np.zeros((3, 3)))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(rebuilt.blocks[1].fc2.kernel),
                                  keras.ops.convert_to_numpy(model.blocks[1].fc2.kernel))


def test_distilled_deit_round_trips_through_load_checkpoint(tmp_path):
    import keras_vit

    model = keras_vit.build_deit(
        num_classes=5, image_size=16, patch_size=4, dim=128, depth=1, num_heads=2, mlp_dim=64, distillation_token=True
    )
    keras_vit.save_checkpoint(model, tmp_path / "deit.safetensors")
    loaded = keras_vit.load_checkpoint(tmp_path / "deit.safetensors")
    assert "head_dist" in [layer.name for layer in loaded.layers]
    images = np.random.default_rng(0).uniform(size=(2, 16, 16, 3)).astype("float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(images)), keras.ops.convert_to_numpy(model(images)))
    fresh = keras_vit.load_checkpoint(tmp_path / "deit.safetensors", num_classes=3)
    assert fresh.output_shape == (None, 3)
    assert not np.any(keras.ops.convert_to_numpy(fresh.head_dist.kernel))
