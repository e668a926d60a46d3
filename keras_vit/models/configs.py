"""The one table of named model configs.

Names and sizes follow timm (`vit_tiny_patch16_224` is ViT-Ti/16 at 224 px, and so on for DeiT,
DeiT III, DINOv2 with and without registers, the CLIP image towers and SigLIP); the
`*_patch4_32` and `*_patch4_28` rows are small-image configs for CIFAR (32x32 RGB) and
Fashion-MNIST (28x28 grayscale).
"""

import dataclasses
import fnmatch

from keras_vit.checks import (
    check_bool,
    check_choice,
    check_divisible,
    check_heads,
    check_non_negative_int,
    check_positive_int,
    check_positive_number,
    check_rate,
    check_stem_entry_width,
    to_pair,
)


@dataclasses.dataclass(frozen=True)
class ViTConfig:
    """Architecture and regularization of one ViT.

    Sizes: images are `(image_size, image_size, channels)` (or `(h, w)` for
    rectangular ones), cut into `patch_size` patches, embedded to width `dim`, run
    through `depth` blocks of `num_heads` heads (each of width `dim // num_heads`)
    and MLPs of width `mlp_dim`. `patch_embedding="conv_stem"` replaces the patch projection by
    a convolutional stem (`ConvStem`), which `stem_entry_width > 0` starts with a stride-1 3x3
    convolution of that width.

    The switches of the ViT families timm builds from the same `VisionTransformer` (timm's names):
    `reg_tokens` register tokens after the CLS token (DINOv2 `_reg`); `no_embed_class`: the
    position table covers the patch tokens only (DeiT III, DINOv2 `_reg`); `norm_pre`: a LayerNorm
    before the blocks, and no patch-projection bias (CLIP); `pooling`: `"token"` (the CLS token),
    `"gap"` (the mean of the patch tokens, after the final norm, or with `fc_norm=True` before a
    norm of the pooled vector instead: timm's `global_pool="avg"` with `fc_norm` off / on) or
    `"map"` (multi-head attention pooling, big_vision / SigLIP); `activation` of the MLPs:
    `"gelu"` (exact), `"gelu_tanh"` (SigLIP in transformers and big_vision), `"quick_gelu"`
    (OpenAI's CLIP); `init_values`: LayerScale (DeiT III, DINOv2).
    """

    image_size: object = 224
    patch_size: object = 16
    dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_dim: int = 3072
    channels: int = 3
    pooling: str = "token"
    fc_norm: bool = False
    class_token: bool = True
    distillation_token: bool = False
    reg_tokens: int = 0
    position_embedding: str = "learned"
    no_embed_class: bool = False
    norm_pre: bool = False
    patch_embedding: str = "conv"
    stem_entry_width: int = 0
    qkv_bias: bool = True
    qk_norm: bool = False
    init_values: object = None
    activation: str = "gelu"
    dropout: float = 0.0
    attention_dropout: float = 0.0
    drop_path_rate: float = 0.0
    layer_norm_epsilon: float = 1e-6


def _vit(image_size, patch_size, dim, depth, num_heads, channels=3):
    return ViTConfig(
        image_size=image_size,
        patch_size=patch_size,
        dim=dim,
        depth=depth,
        num_heads=num_heads,
        mlp_dim=4 * dim,
        channels=channels,
    )


CONFIGS = {
    "vit_tiny_patch16_224": _vit(224, 16, 192, 12, 3),
    "vit_small_patch16_224": _vit(224, 16, 384, 12, 6),
    "vit_small_patch32_224": _vit(224, 32, 384, 12, 6),
    "vit_base_patch16_224": _vit(224, 16, 768, 12, 12),
    "vit_base_patch32_224": _vit(224, 32, 768, 12, 12),
    "vit_large_patch16_224": _vit(224, 16, 1024, 24, 16),
    # Small images: CIFAR-10/100 (32x32 RGB) and Fashion-MNIST / MNIST (28x28 gray).
    "vit_tiny_patch4_32": _vit(32, 4, 192, 6, 3),
    "vit_tiny_patch4_28": _vit(28, 4, 192, 6, 3, channels=1),
    "vit_nano_patch4_28": dataclasses.replace(_vit(28, 4, 64, 6, 4, channels=1), mlp_dim=128),
}
# DeiT (Touvron et al. 2021): the ViT architecture; the distilled forms add a distillation token and a
# second head (built by `build_deit`).
for _size in ("tiny", "small", "base"):
    CONFIGS[f"deit_{_size}_patch16_224"] = CONFIGS[f"vit_{_size}_patch16_224"]
    CONFIGS[f"deit_{_size}_distilled_patch16_224"] = dataclasses.replace(
        CONFIGS[f"vit_{_size}_patch16_224"], distillation_token=True
    )
for _name in ("tiny_patch4_32", "tiny_patch4_28", "nano_patch4_28"):
    _size, _rest = _name.split("_", 1)
    CONFIGS[f"deit_{_size}_distilled_{_rest}"] = dataclasses.replace(CONFIGS[f"vit_{_name}"], distillation_token=True)
# DeiT III (Touvron et al. 2022): LayerScale, and no position for the CLS token.
for _size, _dim, _depth, _heads in (("small", 384, 12, 6), ("medium", 512, 12, 8), ("base", 768, 12, 12),
                                    ("large", 1024, 24, 16)):  # fmt: skip
    CONFIGS[f"deit3_{_size}_patch16_224"] = dataclasses.replace(
        _vit(224, 16, _dim, _depth, _heads), init_values=1e-6, no_embed_class=True
    )
# DINOv2 (Oquab et al. 2023) at its 518 px, and with 4 register tokens (Darcet et al. 2024), which,
# as the CLS token, have no position.
for _size, _dim, _depth, _heads in (("small", 384, 12, 6), ("base", 768, 12, 12), ("large", 1024, 24, 16)):
    _dinov2 = dataclasses.replace(_vit(518, 14, _dim, _depth, _heads), init_values=1e-5)
    CONFIGS[f"vit_{_size}_patch14_dinov2"] = _dinov2
    CONFIGS[f"vit_{_size}_patch14_reg4_dinov2"] = dataclasses.replace(_dinov2, reg_tokens=4, no_embed_class=True)
# CLIP image towers (Radford et al. 2021): a LayerNorm before the blocks, epsilon 1e-5; the `_quickgelu`
# rows have the activation OpenAI's weights were trained with. timm's head here is CLIP's projection.
for _name, _patch, _dim, _depth, _heads in (("base_patch32", 32, 768, 12, 12), ("base_patch16", 16, 768, 12, 12),
                                            ("large_patch14", 14, 1024, 24, 16)):  # fmt: skip
    _clip = dataclasses.replace(_vit(224, _patch, _dim, _depth, _heads), norm_pre=True, layer_norm_epsilon=1e-5)
    CONFIGS[f"vit_{_name}_clip_224"] = _clip
    CONFIGS[f"vit_{_name}_clip_quickgelu_224"] = dataclasses.replace(_clip, activation="quick_gelu")
# SigLIP (Zhai et al. 2023): no CLS token, multi-head attention pooling; exact GELU, as timm builds them.
for _name, _size in (("vit_base_patch16_siglip_224", 224), ("vit_base_patch16_siglip_256", 256)):
    CONFIGS[_name] = dataclasses.replace(_vit(_size, 16, 768, 12, 12), class_token=False, pooling="map")
# SoViT-400m: 16 heads of width 72, MLP width 4304.
CONFIGS["vit_so400m_patch14_siglip_224"] = dataclasses.replace(
    _vit(224, 14, 1152, 27, 16), mlp_dim=4304, class_token=False, pooling="map"
)


def list_configs(pattern=None):
    """Names of the named configs, sorted; with `pattern`, those it matches (fnmatch wildcards:
    `"vit_*_patch16*"`)."""
    names = sorted(CONFIGS)
    return names if pattern is None else [name for name in names if fnmatch.fnmatchcase(name, pattern)]


def config_fields():
    return [f.name for f in dataclasses.fields(ViTConfig)]


def get_config(name=None, **overrides):
    """The `ViTConfig` called `name`, with any field replaced by keyword.

    With `name=None` the fields start from `ViTConfig`'s defaults (ViT-B/16).
    Raises `ValueError` for an unknown name or field, listing the valid ones.
    """
    if name is None:
        config = ViTConfig()
    elif name in CONFIGS:
        config = CONFIGS[name]
    else:
        raise ValueError(
            f"Unknown config name {name!r}. Valid names: {', '.join(list_configs())}."
        )
    unknown = sorted(set(overrides) - set(config_fields()))
    if unknown:
        raise ValueError(
            f"Unknown config field(s) {unknown}. Valid fields: {', '.join(config_fields())}."
        )
    for key in ("image_size", "patch_size"):
        if key in overrides:
            overrides[key] = _canonical_size(overrides[key], key)
    return dataclasses.replace(config, **overrides)


def _canonical_size(value, name):
    """An int for a square size, else an `(h, w)` tuple, so that equal sizes compare equal."""
    height, width = to_pair(value, name)
    return height if height == width else (height, width)


def validate_config(config):
    """Raise `ValueError` naming the first invalid field of `config`; return `config`."""
    from keras_vit.layers.activations import ACTIVATIONS
    from keras_vit.layers.conv_stem import stem_widths
    from keras_vit.layers.patch_encoder import PATCH_EMBEDDINGS, POSITION_EMBEDDINGS
    from keras_vit.layers.pooling import POOLINGS

    image_size = to_pair(config.image_size, "image_size")
    patch_size = to_pair(config.patch_size, "patch_size")
    for field in ("dim", "depth", "num_heads", "mlp_dim", "channels"):
        check_positive_int(getattr(config, field), field)
    check_divisible(image_size, patch_size)
    check_heads(config.dim, config.num_heads)
    check_choice(config.pooling, "pooling", POOLINGS)
    check_choice(config.activation, "activation", tuple(ACTIVATIONS))
    check_non_negative_int(config.reg_tokens, "reg_tokens", zero_means="none")
    for field in ("fc_norm", "no_embed_class", "norm_pre"):
        check_bool(getattr(config, field), field)
    check_choice(config.position_embedding, "position_embedding", POSITION_EMBEDDINGS)
    check_choice(config.patch_embedding, "patch_embedding", PATCH_EMBEDDINGS)
    if config.patch_embedding == "conv_stem":
        stem_widths(config.dim, patch_size)
    check_stem_entry_width(config.stem_entry_width, config.patch_embedding)
    if config.position_embedding == "sincos2d" and config.dim % 4:
        raise ValueError(f"sincos2d position embeddings need dim divisible by 4; got dim={config.dim}.")
    if config.pooling == "token" and not config.class_token:
        raise ValueError("pooling='token' needs class_token=True; use pooling='gap' without a class token.")
    if config.distillation_token and (config.pooling != "token" or not config.class_token):
        raise ValueError(
            "A distilled DeiT pools its CLS and distillation tokens: distillation_token=True needs "
            f"pooling='token' and class_token=True; got pooling={config.pooling!r}, class_token={config.class_token}."
        )
    if config.distillation_token and config.reg_tokens:
        raise ValueError(
            f"reg_tokens={config.reg_tokens} with distillation_token=True: no model puts register tokens beside "
            "DeiT's distillation token; use one or the other."
        )
    if config.fc_norm and config.pooling != "gap":
        raise ValueError(
            f"fc_norm=True normalizes the mean of the patch tokens (timm's global_pool='avg'); it needs pooling='gap', "
            f"got pooling={config.pooling!r}."
        )
    if config.no_embed_class and config.position_embedding != "learned":
        raise ValueError(
            "no_embed_class=True leaves the prefix tokens out of a learned position table; with "
            f"position_embedding={config.position_embedding!r} there is none to leave them out of."
        )
    if config.init_values is not None:
        check_positive_number(config.init_values, "init_values")
    for field in ("dropout", "attention_dropout", "drop_path_rate"):
        check_rate(getattr(config, field), field)
    return config


REGULARIZATION_FIELDS = ("dropout", "attention_dropout", "drop_path_rate")


def describes(name, config):
    """Whether the table row `name` describes `config`: every field equal but regularization (dropout,
    drop-path), which does not change what a model is (timm's names do not change with it either)."""
    if name not in CONFIGS:
        return False
    defaults = {field: getattr(ViTConfig(), field) for field in REGULARIZATION_FIELDS}
    return dataclasses.replace(CONFIGS[name], **defaults) == dataclasses.replace(config, **defaults)


def config_from_dict(fields):
    """A validated `ViTConfig` from its fields, as `dataclasses.asdict` (or JSON, with lists for pairs) gives them."""
    return validate_config(get_config(None, **fields))
