"""Hugging Face transformers ViT / DeiT checkpoints in timm's layout.

The names are those `save_pretrained` writes (transformers 4 and 5 alike), e.g.
`vit.encoder.layer.0.attention.attention.query.weight`. Query, key and value are fused into
timm's `attn.qkv`; `config.json` supplies what shapes cannot tell (heads, image size, LayerNorm
epsilon).
"""

import re

import numpy as np

_MODEL_PREFIX = re.compile(r"^(?:vit|deit)\.")
_RENAMES = [
    (r"^embeddings\.cls_token$", "cls_token"),
    (r"^embeddings\.distillation_token$", "dist_token"),
    (r"^embeddings\.position_embeddings$", "pos_embed"),
    (r"^embeddings\.patch_embeddings\.projection\.", "patch_embed.proj."),
    (r"^encoder\.layer\.(\d+)\.layernorm_before\.", r"blocks.\1.norm1."),
    (r"^encoder\.layer\.(\d+)\.attention\.output\.dense\.", r"blocks.\1.attn.proj."),
    (r"^encoder\.layer\.(\d+)\.layernorm_after\.", r"blocks.\1.norm2."),
    (r"^encoder\.layer\.(\d+)\.intermediate\.dense\.", r"blocks.\1.mlp.fc1."),
    (r"^encoder\.layer\.(\d+)\.output\.dense\.", r"blocks.\1.mlp.fc2."),
    (r"^layernorm\.", "norm."),
    (r"^(?:classifier|cls_classifier)\.", "head."),
    (r"^distillation_classifier\.", "head_dist."),
]
_QKV = re.compile(r"^encoder\.layer\.(\d+)\.attention\.attention\.(query|key|value)\.(weight|bias)$")
# ViTModel's pooler (dense + tanh on the CLS token) is not used by image classification
# (ViTForImageClassification reads the CLS token itself), and keras_vit has no such layer.
_DROPPED = re.compile(r"^pooler\.")


def is_hf_layout(tensors):
    return any(key.endswith("embeddings.patch_embeddings.projection.weight") for key in tensors)


def hf_to_timm(tensors):
    """HF names to timm names. Keys it does not know keep their HF name (and so show up as unexpected)."""
    out, qkv_parts = {}, {}
    for key, value in tensors.items():
        short = _MODEL_PREFIX.sub("", key)
        if _DROPPED.match(short):
            continue
        match = _QKV.match(short)
        if match:
            block, part, kind = match.groups()
            qkv_parts.setdefault((block, kind), {})[part] = (key, value)
            continue
        for pattern, replacement in _RENAMES:
            if re.match(pattern, short):
                out[re.sub(pattern, replacement, short)] = value
                break
        else:
            out[key] = value
    for (block, kind), parts in qkv_parts.items():
        if len(parts) == 3:
            out[f"blocks.{block}.attn.qkv.{kind}"] = np.concatenate(
                [parts[name][1] for name in ("query", "key", "value")], axis=0
            )
        else:  # an incomplete triple cannot be fused: report the parts under their own names
            out.update(dict(parts.values()))
    return out


def hf_config_fields(config, source):
    """`ViTConfig` fields from a transformers ViT/DeiT `config.json` dict."""
    model_type = config.get("model_type")
    if model_type not in ("vit", "deit"):
        raise ValueError(f"{source}: model_type {model_type!r} is not supported; valid: 'vit', 'deit'.")
    activation = config.get("hidden_act", "gelu")
    if activation != "gelu":
        raise ValueError(
            f"{source}: hidden_act {activation!r} is not supported; keras_vit's MLP uses exact GELU ('gelu')."
        )
    fields = dict(
        image_size=config.get("image_size", 224),
        patch_size=config.get("patch_size", 16),
        dim=config.get("hidden_size", 768),
        depth=config.get("num_hidden_layers", 12),
        num_heads=config.get("num_attention_heads", 12),
        mlp_dim=config.get("intermediate_size", 3072),
        channels=config.get("num_channels", 3),
        qkv_bias=config.get("qkv_bias", True),
        layer_norm_epsilon=config.get("layer_norm_eps", 1e-12),
    )
    for key in ("image_size", "patch_size"):
        if isinstance(fields[key], list):
            fields[key] = tuple(fields[key])
    return fields
