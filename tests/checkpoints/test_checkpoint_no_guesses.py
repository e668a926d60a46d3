"""What a file cannot tell is read from the config stored with it, or told by the caller, or refused with the
argument that supplies it: the two layouts that used to load with wrong logits, the normalization, the activation
of CLIP-like files, and register tokens."""

import json

import keras
import numpy as np
import pytest
from safetensors.numpy import load_file, save_file
from timm_reference import timm_forward

import keras_vit

# 8 heads of width 16: shapes alone would say 2 heads of timm's usual width 64.
NARROW_HEADS = dict(image_size=16, patch_size=4, dim=128, depth=2, num_heads=8, mlp_dim=64)
TINY = dict(image_size=16, patch_size=4, dim=32, depth=2, num_heads=4, mlp_dim=64)
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def _plain_timm_file(path, model):
    """`model`'s state dict as timm writes it: no keras_vit metadata; returns the tensors."""
    tensors = load_file(keras_vit.save_checkpoint(model, path.with_name("with_metadata.safetensors")))
    save_file(tensors, path)
    return tensors


def _timm_config(folder, **config):
    (folder / "config.json").write_text(json.dumps({"architecture": "vit_custom", "num_classes": 5, **config}))


def test_heads_narrower_than_64_are_read_from_the_stored_config_or_refused(tmp_path, perturb, images, logits):
    model = perturb(keras_vit.build_vit(num_classes=5, **NARROW_HEADS))
    folder = tmp_path / "timm"
    folder.mkdir()
    tensors = _plain_timm_file(folder / "model.safetensors", model)
    reference = timm_forward(tensors, images, num_heads=8)
    two_heads = timm_forward(tensors, images, num_heads=2)
    assert np.abs(two_heads - reference).max() > 1e-2  # the guess 128 / 64 = 2 heads gives other logits

    with pytest.raises(ValueError, match=r"does not record its number of attention heads \(shapes give only the "
                                         r"width 128\).*Pass num_heads=, pooling= to load_checkpoint"):
        keras_vit.load_checkpoint(folder / "model.safetensors", input_normalization=(0, 1))
    told = keras_vit.load_checkpoint(folder / "model.safetensors", input_normalization=(0, 1), num_heads=8,
                                     pooling="token")  # fmt: skip
    _timm_config(folder, global_pool="token", model_args={"num_heads": 8},
                 pretrained_cfg={"mean": [0, 0, 0], "std": [1, 1, 1]})  # fmt: skip
    stored = keras_vit.load_checkpoint(folder)

    for loaded in (told, stored):
        assert loaded.blocks[0].num_heads == 8 and loaded.input_normalization is None
        np.testing.assert_allclose(logits(loaded, images), reference, atol=1e-5)


def test_average_pooling_with_a_class_token_and_no_fc_norm_is_read_or_refused(tmp_path, perturb, images, logits):
    """timm's global_pool="avg", fc_norm=False with a CLS token stores what global_pool="token" stores."""
    model = perturb(keras_vit.build_vit(num_classes=5, pooling="gap", **TINY))
    folder = tmp_path / "timm"
    folder.mkdir()
    tensors = _plain_timm_file(folder / "model.safetensors", model)
    reference = timm_forward(tensors, images, num_heads=4, pooling="avg")
    assert np.abs(timm_forward(tensors, images, num_heads=4, pooling="token") - reference).max() > 0.1

    with pytest.raises(ValueError, match=r"does not record its pooling: it has a CLS token and a final norm, as both "
                                         r"timm's global_pool='token' .* Pass pooling= to load_checkpoint"):
        keras_vit.load_checkpoint(folder / "model.safetensors", input_normalization=(0, 1), num_heads=4)
    _timm_config(folder, global_pool="avg", model_args={"num_heads": 4, "fc_norm": False},
                 pretrained_cfg={"mean": [0, 0, 0], "std": [1, 1, 1]})  # fmt: skip
    stored = keras_vit.load_checkpoint(folder)
    metadata = keras_vit.load_checkpoint(tmp_path / "timm" / "with_metadata.safetensors")  # keras_vit's own record

    for loaded in (stored, metadata):
        assert loaded.config.pooling == "gap" and loaded.config.class_token and not loaded.config.fc_norm
        np.testing.assert_allclose(logits(loaded, images), reference, atol=1e-5)


def test_input_normalization_is_read_or_must_be_told(tmp_path, make_vit, pixels):
    model = make_vit()
    folder = tmp_path / "timm"
    folder.mkdir()
    _plain_timm_file(folder / "model.safetensors", model)
    facts = dict(num_heads=4, pooling="token")

    with pytest.raises(ValueError, match=r"does not record the input normalization its weights were trained with .*"
                                         r"or \(0, 1\) for pixels scaled to \[0, 1\] only"):
        keras_vit.load_checkpoint(folder / "model.safetensors", **facts)
    plain = keras_vit.load_checkpoint(folder / "model.safetensors", input_normalization=(0, 1), **facts)
    told = keras_vit.load_checkpoint(folder / "model.safetensors", input_normalization=IMAGENET, **facts)
    _timm_config(folder, global_pool="token", model_args={"num_heads": 4},
                 pretrained_cfg={"mean": list(IMAGENET[0]), "std": list(IMAGENET[1])})  # fmt: skip
    stored = keras_vit.load_checkpoint(folder)
    # keras_vit's metadata records a model without normalization as such: nothing to tell.
    recorded = keras_vit.load_checkpoint(folder / "with_metadata.safetensors")

    assert plain.input_normalization is None and recorded.input_normalization is None
    assert told.input_normalization == IMAGENET and stored.input_normalization == IMAGENET
    normalized = ((pixels / 255.0 - IMAGENET[0]) / IMAGENET[1]).astype("float32")
    expected = keras.ops.convert_to_numpy(model(normalized * 255.0))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(stored(pixels)), expected, atol=1e-5)


def test_a_pre_norm_file_must_tell_its_activation(tmp_path, make_vit, images, logits):
    """timm's CLIP towers of the same shapes use GELU or quick-GELU."""
    model = make_vit(norm_pre=True, layer_norm_epsilon=1e-5, activation="quick_gelu")
    tensors = _plain_timm_file(tmp_path / "clip.safetensors", model)
    facts = dict(num_heads=4, pooling="token", input_normalization=(0, 1))

    with pytest.raises(ValueError, match=r"its MLP activation \('gelu', 'gelu_tanh' or 'quick_gelu'\): timm's models "
                                         r"with a pre-norm \(CLIP: GELU or quick-GELU\) differ in it\. Pass activation="):
        keras_vit.load_checkpoint(tmp_path / "clip.safetensors", **facts)
    loaded = keras_vit.load_checkpoint(tmp_path / "clip.safetensors", activation="quick_gelu", **facts)
    named = keras_vit.load_checkpoint(tmp_path / "clip.safetensors", "vit_base_patch16_clip_quickgelu_224",
                                      input_normalization=(0, 1), **{**TINY, "image_size": 16})  # fmt: skip

    reference = timm_forward(tensors, images, num_heads=4, eps=1e-5, activation="quick_gelu")
    for model in (loaded, named):
        assert model.config.activation == "quick_gelu" and model.config.layer_norm_epsilon == 1e-5
        np.testing.assert_allclose(logits(model, images), reference, atol=1e-5)


def test_register_tokens_load_without_an_image_size(tmp_path, make_vit, images, logits):
    """A timm DINOv2-with-registers state dict: 2 registers, no positions for them or the CLS token."""
    model = make_vit(reg_tokens=2, no_embed_class=True, init_values=1e-5)
    tensors = _plain_timm_file(tmp_path / "reg.safetensors", model)

    loaded = keras_vit.load_checkpoint(tmp_path / "reg.safetensors", num_heads=4, pooling="token",
                                       input_normalization=(0, 1))  # fmt: skip

    assert loaded.patch_encoder.reg_tokens == 2 and loaded.config.no_embed_class
    assert loaded.patch_encoder.num_prefix_tokens == 3 and loaded.input_shape == (None, 16, 16, 3)
    np.testing.assert_allclose(logits(loaded, images), timm_forward(tensors, images, num_heads=4), atol=1e-5)


def test_a_table_without_prefix_rows_folds_into_a_model_with_them_and_back(tmp_path, make_vit, images, logits):
    """load_weights into a model whose table has the other layout: the prefix positions become zero rows, or
    are added to the prefix tokens; either way the same tokens enter the first block."""
    deit3 = make_vit(no_embed_class=True, init_values=1e-6)
    plain = make_vit(init_values=1e-6)
    from_deit3 = keras_vit.load_weights(keras_vit.build_vit(num_classes=5, init_values=1e-6, **TINY),
                                        keras_vit.save_checkpoint(deit3, tmp_path / "deit3.safetensors"))
    from_plain = keras_vit.load_weights(keras_vit.build_vit(num_classes=5, init_values=1e-6, no_embed_class=True, **TINY),
                                        keras_vit.save_checkpoint(plain, tmp_path / "plain.safetensors"))  # fmt: skip

    np.testing.assert_array_equal(keras.ops.convert_to_numpy(from_deit3.patch_encoder.position_embeddings)[:, 0], 0.0)
    np.testing.assert_allclose(logits(from_deit3, images), logits(deit3, images), atol=1e-5)
    np.testing.assert_allclose(logits(from_plain, images), logits(plain, images), atol=1e-5)


def test_files_of_the_previous_keras_vit_release_tell_what_it_wrote(tmp_path, make_vit, images, logits):
    """keras_vit 0.2 recorded image size, heads, epsilon and pooling; it wrote a normalization only for a model
    that had one, and built GELU MLPs only. A CLS-less model of it (an activation timm's models differ in)
    loads as it was."""
    from safetensors import safe_open

    model = make_vit(class_token=False, pooling="gap")
    path = keras_vit.save_checkpoint(model, tmp_path / "new.safetensors")
    with safe_open(path, framework="numpy") as file:
        recorded = json.loads(file.metadata()["keras_vit"])
    old = {key: recorded[key] for key in ("image_size", "num_heads", "layer_norm_epsilon", "pooling")}
    save_file(load_file(path), tmp_path / "old.safetensors", metadata={"format": "pt", "keras_vit": json.dumps(old)})

    loaded = keras_vit.load_checkpoint(tmp_path / "old.safetensors")

    assert loaded.config.activation == "gelu" and loaded.input_normalization is None
    np.testing.assert_array_equal(logits(loaded, images), logits(model, images))


@pytest.mark.parametrize(
    "switches, recorded",
    [(dict(activation="quick_gelu"), "'activation': 'quick_gelu'"), (dict(layer_norm_epsilon=1e-5), "1e-05"),
     (dict(pooling="gap"), "'pooling': 'gap'")],
)
def test_the_npz_writer_refuses_what_the_layout_cannot_say(tmp_path, make_vit, switches, recorded):
    model = make_vit(**switches)
    with pytest.raises(ValueError, match=f"npz .* cannot record .*{recorded}.* format='timm'"):
        keras_vit.save_checkpoint(model, tmp_path / "vit.npz", format="npz")
    assert not (tmp_path / "vit.npz").exists()
