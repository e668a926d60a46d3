"""Hugging Face transformers checkpoints in timm's layout: ViT, DeiT, DINOv2 (with registers), and the image
towers of CLIP and SigLIP.

The names are those `save_pretrained` writes (transformers 4 and 5 alike), e.g.
`vit.encoder.layer.0.attention.attention.query.weight` or
`vision_model.encoder.layers.0.self_attn.q_proj.weight`. Query, key and value are fused into timm's
`attn.qkv`; `config.json` supplies what shapes cannot tell (heads, image size, LayerNorm epsilon,
activation, pooling), with transformers' own defaults for the keys it leaves out. A whole `CLIPModel`
or `SiglipModel` gives its image tower (the text tower is dropped); CLIP's `visual_projection` becomes
the head (a bias of zeros), as timm loads it.
"""

import re

import numpy as np

from keras_vit.layers.activations import ACTIVATIONS

_MODEL_PREFIX = re.compile(r"^(?:vit|deit|dinov2|vision_model)\.")
# Not part of an image classifier: ViTModel's pooler (dense + tanh on the CLS token, which
# ViTForImageClassification does not use), DINOv2's masked-image-modelling token, the text tower and
# the contrastive scales of CLIPModel / SiglipModel.
_DROPPED = re.compile(
    r"^(?:pooler\.|embeddings\.mask_token$|text_model\.|text_projection\.|logit_scale$|logit_bias$|.*position_ids$)"
)
_RENAMES = [
    # ViT, DeiT, DINOv2
    (r"^embeddings\.cls_token$", "cls_token"),
    (r"^embeddings\.distillation_token$", "dist_token"),
    (r"^embeddings\.register_tokens$", "reg_token"),
    (r"^embeddings\.position_embeddings$", "pos_embed"),
    (r"^embeddings\.patch_embeddings\.projection\.", "patch_embed.proj."),
    (r"^encoder\.layer\.(\d+)\.attention\.output\.dense\.", r"blocks.\1.attn.proj."),
    (r"^encoder\.layer\.(\d+)\.(?:layernorm_before|norm1)\.", r"blocks.\1.norm1."),
    (r"^encoder\.layer\.(\d+)\.(?:layernorm_after|norm2)\.", r"blocks.\1.norm2."),
    (r"^encoder\.layer\.(\d+)\.(?:intermediate\.dense|mlp\.fc1)\.", r"blocks.\1.mlp.fc1."),
    (r"^encoder\.layer\.(\d+)\.(?:output\.dense|mlp\.fc2)\.", r"blocks.\1.mlp.fc2."),
    (r"^encoder\.layer\.(\d+)\.layer_scale([12])\.lambda1$", r"blocks.\1.ls\2.gamma"),
    (r"^layernorm\.", "norm."),
    (r"^(?:classifier|cls_classifier)\.", "head."),
    (r"^distillation_classifier\.", "head_dist."),
    # CLIP, SigLIP
    (r"^embeddings\.patch_embedding\.", "patch_embed.proj."),
    (r"^pre_layrnorm\.", "norm_pre."),
    (r"^encoder\.layers\.(\d+)\.layer_norm1\.", r"blocks.\1.norm1."),
    (r"^encoder\.layers\.(\d+)\.self_attn\.out_proj\.", r"blocks.\1.attn.proj."),
    (r"^encoder\.layers\.(\d+)\.layer_norm2\.", r"blocks.\1.norm2."),
    (r"^encoder\.layers\.(\d+)\.mlp\.(fc[12])\.", r"blocks.\1.mlp.\2."),
    (r"^post_layernorm\.", "norm."),
    (r"^head\.probe$", "attn_pool.latent"),
    (r"^head\.attention\.out_proj\.", "attn_pool.proj."),
    (r"^head\.layernorm\.", "attn_pool.norm."),
    (r"^head\.mlp\.(fc[12])\.", r"attn_pool.mlp.\1."),
]
_QKV = [
    re.compile(r"^encoder\.layer\.(\d+)\.attention\.attention\.(query|key|value)\.(weight|bias)$"),
    re.compile(r"^encoder\.layers\.(\d+)\.self_attn\.(q|k|v)_proj\.(weight|bias)$"),
]
_QKV_ORDER = {"query": 0, "key": 1, "value": 2, "q": 0, "k": 1, "v": 2}


def is_hf_layout(tensors):
    suffixes = ("embeddings.patch_embeddings.projection.weight", "embeddings.patch_embedding.weight")
    return any(key.endswith(suffixes) for key in tensors)


def _reshaped(short, value):
    """`(timm name, array)` pairs of the tensors whose layout differs from timm's, else None."""
    if short == "embeddings.class_embedding":  # CLIP: (dim,)
        return [("cls_token", value.reshape(1, 1, -1))]
    if short == "embeddings.position_embedding.weight":  # CLIP, SigLIP: an nn.Embedding (rows, dim)
        return [("pos_embed", value[None])]
    if short == "visual_projection.weight":  # CLIP's projection, bias-free: timm's head with a zero bias
        return [("head.weight", value), ("head.bias", np.zeros(value.shape[0], value.dtype))]
    if short.startswith("head.attention.in_proj_"):  # SigLIP's nn.MultiheadAttention: q, then k and v fused
        kind = "weight" if short.endswith("weight") else "bias"
        dim = value.shape[0] // 3
        return [(f"attn_pool.q.{kind}", value[:dim]), (f"attn_pool.kv.{kind}", value[dim:])]
    return None


def hf_to_timm(tensors):
    """HF names to timm names. Keys it does not know keep their HF name (and so show up as unexpected).

    DINOv2 with registers gives its CLS token a position but not its registers; timm (and keras_vit)
    keep the table for the patches only (`no_embed_class`), so the CLS row is added to the CLS token, as
    timm converts these weights: the same sums as transformers computes.
    """
    out, qkv_parts = {}, {}
    for key, value in tensors.items():
        short = _MODEL_PREFIX.sub("", key)
        if _DROPPED.match(short):
            continue
        match = next((pattern.match(short) for pattern in _QKV if pattern.match(short)), None)
        if match:
            block, part, kind = match.groups()
            qkv_parts.setdefault((block, kind), {})[_QKV_ORDER[part]] = (key, value)
            continue
        reshaped = _reshaped(short, value)
        if reshaped is not None:
            out.update(reshaped)
            continue
        for pattern, replacement in _RENAMES:
            if re.match(pattern, short):
                out[re.sub(pattern, replacement, short)] = value
                break
        else:
            out[key] = value
    for (block, kind), parts in qkv_parts.items():
        if len(parts) == 3:
            out[f"blocks.{block}.attn.qkv.{kind}"] = np.concatenate([parts[index][1] for index in range(3)], axis=0)
        else:  # an incomplete triple cannot be fused: report the parts under their own names
            out.update(dict(parts.values()))
    if "reg_token" in out and "cls_token" in out and "pos_embed" in out:
        out["cls_token"] = out["cls_token"] + out["pos_embed"][:, :1]
        out["pos_embed"] = out["pos_embed"][:, 1:]
    return out


# transformers' defaults for the config keys a config.json may leave out (its configuration classes).
_DEFAULTS = {
    "vit": dict(image_size=224, patch_size=16, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                intermediate_size=3072, num_channels=3, hidden_act="gelu", layer_norm_eps=1e-12, qkv_bias=True),
    "dinov2": dict(image_size=224, patch_size=14, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                   mlp_ratio=4, num_channels=3, hidden_act="gelu", layer_norm_eps=1e-6, qkv_bias=True,
                   use_swiglu_ffn=False),
    "clip_vision_model": dict(image_size=224, patch_size=32, hidden_size=768, num_hidden_layers=12,
                              num_attention_heads=12, intermediate_size=3072, num_channels=3, hidden_act="quick_gelu",
                              layer_norm_eps=1e-5),
    "siglip_vision_model": dict(image_size=224, patch_size=16, hidden_size=768, num_hidden_layers=12,
                                num_attention_heads=12, intermediate_size=3072, num_channels=3,
                                hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6, vision_use_head=True),
}  # fmt: skip
_DEFAULTS["deit"] = _DEFAULTS["vit"]
_DEFAULTS["dinov2_with_registers"] = {**_DEFAULTS["dinov2"], "patch_size": 16, "num_register_tokens": 4}
# transformers' activation names (ACT2FN) for keras_vit's.
_ACTIVATIONS = {"gelu": "gelu", "gelu_pytorch_tanh": "gelu_tanh", "quick_gelu": "quick_gelu"}
assert set(_ACTIVATIONS.values()) <= set(ACTIVATIONS)
# Whole contrastive models: the image tower's config is nested.
_TOWERS = {"clip": "clip_vision_model", "siglip": "siglip_vision_model"}


def _family_fields(model_type, config, source):
    """The fields particular to one family (beyond sizes, epsilon and activation)."""
    if model_type in ("vit", "deit"):
        return dict(qkv_bias=config["qkv_bias"], pooling="token")
    if model_type.startswith("dinov2"):
        if config["use_swiglu_ffn"]:
            raise ValueError(
                f"{source}: use_swiglu_ffn=True (DINOv2 giant's SwiGLU MLP) is not supported; keras_vit's blocks "
                "have a two-layer MLP."
            )
        fields = dict(qkv_bias=config["qkv_bias"], pooling="token", init_values=float(config["layerscale_value"]))
        if model_type == "dinov2_with_registers":
            fields.update(reg_tokens=config["num_register_tokens"], no_embed_class=True)
        return fields
    if model_type == "clip_vision_model":
        return dict(norm_pre=True, pooling="token")
    if "SiglipForImageClassification" in config.get("architectures", []):  # the mean of the final tokens
        return dict(class_token=False, pooling="gap")
    if config["vision_use_head"]:  # SigLIP
        return dict(class_token=False, pooling="map")
    raise ValueError(
        f"{source}: a SigLIP image tower without its attention-pool head (vision_use_head=False) records no "
        "pooling; pass pooling= ('gap': the mean of the final tokens, as SiglipForImageClassification)."
    )


def hf_config_fields(config, source):
    """`ViTConfig` fields from a transformers `config.json` dict: ViT, DeiT, DINOv2 (with registers), CLIP or
    SigLIP (a whole model, or its vision model)."""
    model_type = config.get("model_type")
    if model_type in _TOWERS:
        architectures = config.get("architectures", [])
        config, model_type = {**config.get("vision_config", {}), "architectures": architectures}, _TOWERS[model_type]
    if model_type not in _DEFAULTS:
        valid = ", ".join(map(repr, sorted(set(_DEFAULTS) | set(_TOWERS))))
        raise ValueError(f"{source}: model_type {model_type!r} is not supported; valid: {valid}.")
    config = {**_DEFAULTS[model_type], **config}
    activation = config["hidden_act"]
    if activation not in _ACTIVATIONS:
        raise ValueError(
            f"{source}: hidden_act {activation!r} is not supported; keras_vit's MLPs use "
            f"{', '.join(map(repr, _ACTIVATIONS))}."
        )
    dim = config["hidden_size"]
    fields = dict(
        image_size=config["image_size"],
        patch_size=config["patch_size"],
        dim=dim,
        depth=config["num_hidden_layers"],
        num_heads=config["num_attention_heads"],
        mlp_dim=config.get("intermediate_size") or int(dim * config["mlp_ratio"]),  # DINOv2: a ratio
        channels=config["num_channels"],
        layer_norm_epsilon=config["layer_norm_eps"],
        activation=_ACTIVATIONS[activation],
        **_family_fields(model_type, config, source),
    )
    for key in ("image_size", "patch_size"):
        if isinstance(fields[key], list):
            fields[key] = tuple(fields[key])
    return fields
