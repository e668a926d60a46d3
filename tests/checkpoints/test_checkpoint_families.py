"""DeiT III, DINOv2 (with registers), CLIP, SigLIP and average pooling in timm's layout: the state dict timm's model
of the same arguments loads strictly, timm's forward pass on it, timm's config.json, and big_vision's MAP head."""

import json

import keras
import numpy as np
import pytest
from safetensors.numpy import load_file, save_file
from timm_reference import timm_forward, timm_state_shapes

import keras_vit

TINY = dict(image_size=16, patch_size=4, dim=32, depth=2, num_heads=4, mlp_dim=64)
# Each family's keras_vit switches, and the timm VisionTransformer arguments of the same model.
FAMILIES = {
    "deit3": (dict(no_embed_class=True, init_values=1e-6), dict(no_embed_class=True, init_values=1e-6)),
    "dinov2": (dict(init_values=1e-5), dict(init_values=1e-5)),
    "dinov2_reg": (dict(reg_tokens=2, no_embed_class=True, init_values=1e-5),
                   dict(reg_tokens=2, no_embed_class=True, init_values=1e-5)),
    "clip": (dict(norm_pre=True, layer_norm_epsilon=1e-5), dict(pre_norm=True, act_layer="gelu")),
    "clip_quickgelu": (dict(norm_pre=True, layer_norm_epsilon=1e-5, activation="quick_gelu"),
                       dict(pre_norm=True, act_layer="quick_gelu")),
    "siglip": (dict(class_token=False, pooling="map", activation="gelu_tanh"),
               dict(class_token=False, global_pool="map", act_layer="gelu_tanh")),
    "avg_fc_norm": (dict(pooling="gap", fc_norm=True), dict(global_pool="avg")),
    "avg_cls_token": (dict(pooling="gap"), dict(global_pool="avg", fc_norm=False)),
}  # fmt: skip
NORMALIZATION = ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))


def _timm_args(name):
    return {"global_pool": "token", **FAMILIES[name][1]}


def _reference(tensors, name, images, eps=None):
    args, switches = _timm_args(name), FAMILIES[name][0]
    eps = switches.get("layer_norm_epsilon", 1e-6) if eps is None else eps
    return timm_forward(tensors, images, num_heads=4, pooling=args["global_pool"], eps=eps,
                        activation=args.get("act_layer", "gelu"))  # fmt: skip


def _state_shapes(name, **sizes):
    args = _timm_args(name)
    args.pop("act_layer", None)
    sizes = {**dict(dim=32, depth=2, mlp_dim=64, patch_size=4, grid=(4, 4), num_classes=5), **sizes}
    return timm_state_shapes(**sizes, **args)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_timm_layout_is_the_state_dict_of_timms_model_and_gives_its_logits(tmp_path, family, make_vit, images,
                                                                           logits, assert_same_weights):
    model = make_vit(**FAMILIES[family][0])
    path = keras_vit.save_checkpoint(model, tmp_path / "model.safetensors")
    tensors = load_file(path)

    rebuilt = keras_vit.load_checkpoint(path)  # keras_vit's metadata records what shapes cannot tell

    assert {key: value.shape for key, value in tensors.items()} == _state_shapes(family)
    np.testing.assert_allclose(_reference(tensors, family, images), logits(model, images), atol=1e-5)
    assert rebuilt.config == model.config and rebuilt.input_normalization is None
    assert_same_weights(model, rebuilt)


def _timm_folder(folder, tensors, config):
    """A folder as timm's push_to_hub writes it: model.safetensors (no keras_vit metadata) and config.json."""
    folder.mkdir()
    save_file(tensors, folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_timm_folder_with_model_args_loads_with_its_pretrained_cfg(tmp_path, family, make_vit, pixels):
    """An architecture keras_vit's table does not have: its config.json's model_args and global_pool give the
    facts, its pretrained_cfg the input size and normalization."""
    model = make_vit(**FAMILIES[family][0])
    tensors = load_file(keras_vit.save_checkpoint(model, tmp_path / "with_metadata.safetensors"))
    args = _timm_args(family)
    config = {
        "architecture": "vit_tiny_custom", "num_classes": 5, "global_pool": args.pop("global_pool"),
        "model_args": {"num_heads": 4, "embed_dim": 32, "depth": 2, "patch_size": 4, **args},
        "pretrained_cfg": {"input_size": [3, 16, 16], "mean": list(NORMALIZATION[0]), "std": list(NORMALIZATION[1])},
    }  # fmt: skip
    folder = _timm_folder(tmp_path / "timm", tensors, config)

    loaded = keras_vit.load_checkpoint(folder)

    assert loaded.input_normalization == NORMALIZATION and loaded.config == model.config
    normalized = ((pixels / 255.0 - NORMALIZATION[0]) / NORMALIZATION[1]).astype("float32")
    reference = _reference(tensors, family, normalized)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(pixels)), reference, atol=1e-5)


@pytest.mark.parametrize(
    "architecture, image_size, family",
    [("deit3_small_patch16_224", 32, "deit3"), ("vit_small_patch14_reg4_dinov2", 28, "dinov2_reg")],
)
def test_a_named_timm_architecture_loads_as_that_row_and_saves_back_strictly(tmp_path, architecture, image_size,
                                                                             family, perturb, logits):
    """timm's config.json names a row of keras_vit's table (here with one block, as model_args may say): the
    model is that row; saved back, its state dict is the one timm's model of that name loads strictly (a
    DeiT III without a CLS position row, DINOv2 with 4 register tokens and none)."""
    row = keras_vit.get_config(architecture, depth=1, image_size=image_size)
    source = perturb(keras_vit.VisionTransformer(row, 5))
    tensors = load_file(keras_vit.save_checkpoint(source, tmp_path / "source.safetensors"))
    config = {"architecture": architecture, "num_classes": 5, "global_pool": "token",
              "model_args": {"depth": 1, "img_size": image_size},
              "pretrained_cfg": {"input_size": [3, image_size, image_size], "mean": [0.485, 0.456, 0.406],
                                 "std": [0.229, 0.224, 0.225]}}  # fmt: skip
    folder = _timm_folder(tmp_path / "timm", tensors, config)

    loaded = keras_vit.load_checkpoint(folder)
    resaved = load_file(keras_vit.save_checkpoint(loaded, tmp_path / "resaved.safetensors"))

    assert loaded.config == row and loaded.input_normalization == ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    grid = (image_size // row.patch_size,) * 2
    expected = timm_state_shapes(dim=row.dim, depth=1, mlp_dim=row.mlp_dim, patch_size=row.patch_size, grid=grid,
                                 num_classes=5, reg_tokens=row.reg_tokens, no_embed_class=True, init_values=1e-5)
    assert {key: value.shape for key, value in resaved.items()} == expected
    images = np.random.default_rng(0).uniform(0, 1, (2, image_size, image_size, 3)).astype("float32")
    normalized = ((images - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]).astype("float32")
    reference = timm_forward(tensors, normalized, num_heads=row.num_heads)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(images * 255.0)), reference, atol=1e-4)


def _timm_to_big_vision(tensors, num_heads, depth):
    """A timm state dict as big_vision's SigLIP image tower stores it (the inverse of timm's `_load_weights`):
    `params/img/` names, Flax kernels `(in, out)`, heads split in the attention kernels, blocks scanned."""

    def heads(kernel):  # timm (out, in) -> Flax (in, heads, head_dim)
        return kernel.T.reshape(kernel.shape[1], num_heads, -1)

    def attention(prefix, q_kernel, q_bias, k_kernel, k_bias, v_kernel, v_bias, proj_kernel, proj_bias):
        out = {}
        for part, kernel, bias in (("query", q_kernel, q_bias), ("key", k_kernel, k_bias), ("value", v_kernel, v_bias)):
            out[f"{prefix}{part}/kernel"], out[f"{prefix}{part}/bias"] = heads(kernel), bias.reshape(num_heads, -1)
        out[prefix + "out/kernel"] = proj_kernel.T.reshape(num_heads, -1, proj_kernel.shape[0])
        out[prefix + "out/bias"] = proj_bias
        return out

    t = tensors
    out = {"embedding/kernel": t["patch_embed.proj.weight"].transpose(2, 3, 1, 0), "embedding/bias": t["patch_embed.proj.bias"],
           "pos_embedding": t["pos_embed"], "Transformer/encoder_norm/scale": t["norm.weight"],
           "Transformer/encoder_norm/bias": t["norm.bias"], "head/kernel": t["head.weight"].T, "head/bias": t["head.bias"],
           "MAPHead_0/probe": t["attn_pool.latent"], "MAPHead_0/LayerNorm_0/scale": t["attn_pool.norm.weight"],
           "MAPHead_0/LayerNorm_0/bias": t["attn_pool.norm.bias"]}  # fmt: skip
    for index, fc in enumerate(("fc1", "fc2")):
        out[f"MAPHead_0/MlpBlock_0/Dense_{index}/kernel"] = t[f"attn_pool.mlp.{fc}.weight"].T
        out[f"MAPHead_0/MlpBlock_0/Dense_{index}/bias"] = t[f"attn_pool.mlp.{fc}.bias"]
    (k_kernel, v_kernel), (k_bias, v_bias) = np.split(t["attn_pool.kv.weight"], 2), np.split(t["attn_pool.kv.bias"], 2)
    out.update(attention("MAPHead_0/MultiHeadDotProductAttention_0/", t["attn_pool.q.weight"], t["attn_pool.q.bias"],
                         k_kernel, k_bias, v_kernel, v_bias, t["attn_pool.proj.weight"], t["attn_pool.proj.bias"]))
    blocks = []
    for index in range(depth):
        b = f"blocks.{index}."
        q, k, v = np.split(t[b + "attn.qkv.weight"], 3)
        qb, kb, vb = np.split(t[b + "attn.qkv.bias"], 3)
        block = attention("MultiHeadDotProductAttention_0/", q, qb, k, kb, v, vb, t[b + "attn.proj.weight"],
                          t[b + "attn.proj.bias"])  # fmt: skip
        for ours, norm in (("norm1", "LayerNorm_0"), ("norm2", "LayerNorm_1")):
            block[f"{norm}/scale"], block[f"{norm}/bias"] = t[f"{b}{ours}.weight"], t[f"{b}{ours}.bias"]
        for dense, fc in enumerate(("fc1", "fc2")):
            block[f"MlpBlock_0/Dense_{dense}/kernel"] = t[f"{b}mlp.{fc}.weight"].T
            block[f"MlpBlock_0/Dense_{dense}/bias"] = t[f"{b}mlp.{fc}.bias"]
        blocks.append(block)
    out.update({f"Transformer/encoderblock/{key}": np.stack([block[key] for block in blocks]) for key in blocks[0]})
    return {f"params/img/{key}": value for key, value in out.items()}


def test_big_vision_siglip_npz_with_a_map_head_gives_timms_logits(tmp_path, make_vit, images, logits):
    model = make_vit(**FAMILIES["siglip"][0])
    tensors = load_file(keras_vit.save_checkpoint(model, tmp_path / "siglip.safetensors"))
    np.savez(tmp_path / "siglip.npz", **_timm_to_big_vision(tensors, num_heads=4, depth=2),
             **{"params/txt/Encoder_0/encoder_norm/scale": np.ones(8, "float32"), "params/t": np.ones(1, "float32")})

    with pytest.raises(ValueError, match=r"its MLP activation .*no CLS token or an attention pool.*Pass activation="):
        keras_vit.load_checkpoint(tmp_path / "siglip.npz", input_normalization=(0, 1))
    loaded = keras_vit.load_checkpoint(tmp_path / "siglip.npz", input_normalization=(0, 1), activation="gelu_tanh")

    assert loaded.config == model.config
    np.testing.assert_allclose(logits(loaded, images), _reference(tensors, "siglip", images), atol=1e-5)
