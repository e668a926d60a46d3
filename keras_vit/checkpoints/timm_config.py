"""timm's `config.json`, which timm's `push_to_hub` / `save_for_hf` writes beside the weights.

It names the `architecture` (a row of keras_vit's config table when the table has it: names follow
timm's), the `global_pool`, any non-default `model_args`, and the `pretrained_cfg` the weights were
trained with (`input_size`, `mean`, `std`).
"""

from keras_vit.checks import check_normalization
from keras_vit.models.configs import CONFIGS

_POOLINGS = {"token": "token", "avg": "gap", "map": "map"}
_ACTIVATIONS = {"gelu": "gelu", "gelu_tanh": "gelu_tanh", "quick_gelu": "quick_gelu"}
# timm `VisionTransformer` arguments and the `ViTConfig` field each sets.
_MODEL_ARGS = {
    "img_size": "image_size", "patch_size": "patch_size", "in_chans": "channels", "embed_dim": "dim",
    "depth": "depth", "num_heads": "num_heads", "class_token": "class_token", "reg_tokens": "reg_tokens",
    "no_embed_class": "no_embed_class", "pre_norm": "norm_pre", "fc_norm": "fc_norm", "qkv_bias": "qkv_bias",
    "qk_norm": "qk_norm", "init_values": "init_values", "act_layer": "activation", "global_pool": "pooling",
}  # fmt: skip
# Arguments that change nothing a checkpoint's logits depend on (regularization, initialization, the head).
_IGNORED = {
    "num_classes", "drop_rate", "pos_drop_rate", "patch_drop_rate", "proj_drop_rate", "attn_drop_rate",
    "drop_path_rate", "weight_init", "fix_init",
}  # fmt: skip


def is_timm_config(config):
    return isinstance(config, dict) and "architecture" in config


def _pooling(value, source):
    if value not in _POOLINGS:
        raise ValueError(
            f"{source}: timm global_pool={value!r} has no keras_vit counterpart; valid: "
            f"{', '.join(map(repr, _POOLINGS))}."
        )
    return _POOLINGS[value]


def _activation(value, source):
    if value not in _ACTIVATIONS:
        raise ValueError(f"{source}: timm act_layer={value!r} is not supported; valid: {', '.join(map(repr, _ACTIVATIONS))}.")
    return _ACTIVATIONS[value]


def timm_config_fields(config, source):
    """`(name, fields, input_normalization)` of a timm `config.json` dict: the table name of its architecture
    (None when keras_vit's table has no such row), the `ViTConfig` fields it records beyond that row, and
    the `(mean, std)` of its `pretrained_cfg` (None when it gives none)."""
    architecture = config["architecture"]
    name = architecture if architecture in CONFIGS else None
    arguments = dict(config.get("model_args") or {})
    unknown = sorted(set(arguments) - set(_MODEL_ARGS) - _IGNORED)
    if unknown:
        raise ValueError(f"{source}: timm model_args {unknown} have no keras_vit counterpart.")
    fields = {_MODEL_ARGS[key]: value for key, value in arguments.items() if key in _MODEL_ARGS}
    if "global_pool" in config:
        fields.setdefault("pooling", config["global_pool"])
    if "pooling" in fields:
        fields["pooling"] = _pooling(fields["pooling"], source)
        if name is not None and fields["pooling"] != CONFIGS[name].pooling and "fc_norm" not in fields:
            # The pooling differs from the architecture's: timm's fc_norm=None then means on for "avg".
            fields["fc_norm"] = fields["pooling"] == "gap"
    if "activation" in fields:
        fields["activation"] = _activation(fields["activation"], source)
    pretrained = config.get("pretrained_cfg") or {}
    if "input_size" in pretrained and "image_size" not in fields:
        fields["image_size"] = tuple(pretrained["input_size"][-2:])
    for key in ("image_size", "patch_size"):
        if isinstance(fields.get(key), list):
            fields[key] = tuple(fields[key])
    normalization = None
    if "mean" in pretrained and "std" in pretrained:
        normalization = check_normalization((pretrained["mean"], pretrained["std"]))
    return name, fields, normalization
