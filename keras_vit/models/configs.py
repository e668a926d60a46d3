"""The one table of named model configs.

Names and sizes follow timm (`vit_tiny_patch16_224` is ViT-Ti/16 at 224 px, and so on for DeiT,
DeiT III, DINOv2 with and without registers, the CLIP image towers, SigLIP, the hybrid ViTs `vit_*_r*`
and the Swin Transformers `swin_*`); the `*_32` and `*_28` rows are small-image configs for CIFAR (32x32
RGB) and Fashion-MNIST (28x28 grayscale). A row is a `ViTConfig` (built by `build_vit`) or a
`SwinConfig` (built by `build_swin`).
"""

import dataclasses
import fnmatch

from keras_vit.checks import (
    DIST_TOKEN_INIT_STD,
    check_bool,
    check_choice,
    check_dist_token_init_std,
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
    convolution of that width. `patch_embedding="resnetv2"` makes a hybrid ViT (timm's `vit_*_r*`): timm's
    ResNetV2 (`ResNetV2Backbone`: a stem of `backbone_width` channels, then `backbone_layers` bottlenecks
    per stage; `()`: the stem alone) computes a feature map that `patch_size` patches of its cells cut into tokens.

    The switches of the ViT families timm builds from the same `VisionTransformer` (timm's names):
    `reg_tokens` register tokens after the CLS token (DINOv2 `_reg`); `no_embed_class`: the
    position table covers the patch tokens only (DeiT III, DINOv2 `_reg`); `norm_pre`: a LayerNorm
    before the blocks, and no patch-projection bias (CLIP); `pooling`: `"token"` (the CLS token),
    `"gap"` (the mean of the patch tokens, after the final norm, or with `fc_norm=True` before a
    norm of the pooled vector instead: timm's `global_pool="avg"` with `fc_norm` off / on) or
    `"map"` (multi-head attention pooling, big_vision / SigLIP); `activation` of the MLPs:
    `"gelu"` (exact), `"gelu_tanh"` (SigLIP in transformers and big_vision), `"quick_gelu"`
    (OpenAI's CLIP); `init_values`: LayerScale (DeiT III, DINOv2). `dist_token_init_std`: the standard
    deviation of the distillation token's truncated-normal initialization (timm's and DeiT's 0.02; 1e-6 starts
    it as small as the CLS token).
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
    dist_token_init_std: float = DIST_TOKEN_INIT_STD
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
    backbone_layers: tuple = ()
    backbone_width: int = 64


@dataclasses.dataclass(frozen=True)
class SwinConfig:
    """Architecture and regularization of one Swin Transformer (Liu et al. 2021), timm's `SwinTransformer` arguments.

    Images `(image_size, image_size, channels)` are cut into `patch_size` patches embedded to `embed_dim`; stage
    `i` has `depths[i]` blocks of `num_heads[i]` heads at width `embed_dim * 2**i`, each stage after the first
    starting with a patch merging that halves the map. Attention is inside `window_size` windows (shifted by
    half a window in every second block); MLPs have width `mlp_ratio` times the stage's. Drop-path rises
    linearly over all blocks to `drop_path_rate`.
    """

    image_size: object = 224
    patch_size: object = 4
    channels: int = 3
    embed_dim: int = 96
    depths: tuple = (2, 2, 6, 2)
    num_heads: tuple = (3, 6, 12, 24)
    window_size: int = 7
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    activation: str = "gelu"
    dropout: float = 0.0
    attention_dropout: float = 0.0
    drop_path_rate: float = 0.0
    layer_norm_epsilon: float = 1e-5


def stage_grids(config):
    """The `(h, w)` feature map of each stage of a `SwinConfig` (after its patch merging)."""
    height, width = to_pair(config.image_size, "image_size")
    ph, pw = to_pair(config.patch_size, "patch_size")
    grid, grids = (height // ph, width // pw), []
    for stage in range(len(config.depths)):
        if stage:
            grid = (grid[0] // 2, grid[1] // 2)
        grids.append(grid)
    return grids


def stage_dims(config):
    """The width of each stage of a `SwinConfig`: `embed_dim * 2**i`."""
    return [config.embed_dim * 2**stage for stage in range(len(config.depths))]


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
# Hybrid ViTs (Dosovitskiy et al. 2021; timm's vision_transformer_hybrid.py): a ResNetV2 computes the tokens.
# `r_s16_p8`: the ResNet stem alone (stride 4) and 8x8 patches of its map; `r26` / `r50`: ResNet-26 / -50 stages
# and 1x1 patches. The `_32` row: a stem of 32 channels and one stage of two bottlenecks, 8x8 tokens on CIFAR.
for _name, _size, _patch, _dim, _heads, _layers in (("vit_tiny_r_s16_p8_224", 224, 8, 192, 3, ()),
                                                    ("vit_small_r26_s32_224", 224, 1, 384, 6, (2, 2, 2, 2)),
                                                    ("vit_base_r50_s16_384", 384, 1, 768, 12, (3, 4, 9))):  # fmt: skip
    CONFIGS[_name] = dataclasses.replace(
        _vit(_size, _patch, _dim, 12, _heads), patch_embedding="resnetv2", backbone_layers=_layers
    )
CONFIGS["vit_tiny_r8_s4_32"] = dataclasses.replace(
    _vit(32, 1, 192, 6, 3), patch_embedding="resnetv2", backbone_layers=(2,), backbone_width=32
)
# Swin Transformers (Liu et al. 2021), as timm's. The small-image rows: 2x2 patches and 4x4 windows on CIFAR
# (16x16, 8x8 and 4x4 maps, the last one window), 7x7 windows on Fashion-MNIST (14x14 and 7x7 maps).
for _size, _dim, _depths, _heads in (("tiny", 96, (2, 2, 6, 2), (3, 6, 12, 24)), ("small", 96, (2, 2, 18, 2), (3, 6, 12, 24)),
                                     ("base", 128, (2, 2, 18, 2), (4, 8, 16, 32))):  # fmt: skip
    CONFIGS[f"swin_{_size}_patch4_window7_224"] = SwinConfig(embed_dim=_dim, depths=_depths, num_heads=_heads)
CONFIGS["swin_tiny_patch2_window4_32"] = SwinConfig(
    image_size=32, patch_size=2, embed_dim=64, depths=(2, 2, 2), num_heads=(2, 4, 8), window_size=4
)
CONFIGS["swin_tiny_patch2_window7_28"] = SwinConfig(
    image_size=28, patch_size=2, channels=1, embed_dim=64, depths=(2, 4), num_heads=(2, 4), window_size=7
)


def list_configs(pattern=None):
    """Names of the named configs, sorted; with `pattern`, those it matches (fnmatch wildcards:
    `"vit_*_patch16*"`)."""
    names = sorted(CONFIGS)
    return names if pattern is None else [name for name in names if fnmatch.fnmatchcase(name, pattern)]


def config_fields(config_type=None):
    """The field names of `config_type` (`ViTConfig` or `SwinConfig`; default `ViTConfig`)."""
    return [f.name for f in dataclasses.fields(config_type or ViTConfig)]


def get_config(name=None, **overrides):
    """The config called `name` (a `ViTConfig` or a `SwinConfig`), with any field replaced by keyword.

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
    return _replace(config, overrides)


def _replace(config, overrides):
    """`config` with the fields `overrides` names replaced; pairs and sequences in their canonical form."""
    fields = config_fields(type(config))
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise ValueError(
            f"Unknown config field(s) {unknown} of a {type(config).__name__}. Valid fields: {', '.join(fields)}."
        )
    for key in ("image_size", "patch_size"):
        if key in overrides:
            overrides[key] = _canonical_size(overrides[key], key)
    for key in ("backbone_layers", "depths", "num_heads"):  # JSON gives lists; equal configs compare equal
        if isinstance(overrides.get(key), list):
            overrides[key] = tuple(overrides[key])
    return dataclasses.replace(config, **overrides)


def _canonical_size(value, name):
    """An int for a square size, else an `(h, w)` tuple, so that equal sizes compare equal."""
    height, width = to_pair(value, name)
    return height if height == width else (height, width)


def validate_config(config, check_size=True):
    """Raise `ValueError` naming the first invalid field of `config` (a `ViTConfig` or a `SwinConfig`); return it.

    `check_size=False` leaves out the checks of `image_size` against the patches (and Swin's stages): a
    trainer checks a config before it reads the data that sets the image size.
    """
    if isinstance(config, SwinConfig):
        return validate_swin_config(config, check_size)
    from keras_vit.layers.activations import ACTIVATIONS
    from keras_vit.layers.resnetv2 import backbone_grid, check_backbone
    from keras_vit.layers.conv_stem import stem_widths
    from keras_vit.layers.patch_encoder import PATCH_EMBEDDINGS, POSITION_EMBEDDINGS
    from keras_vit.layers.pooling import POOLINGS

    image_size = to_pair(config.image_size, "image_size")
    patch_size = to_pair(config.patch_size, "patch_size")
    for field in ("dim", "depth", "num_heads", "mlp_dim", "channels"):
        check_positive_int(getattr(config, field), field)
    check_choice(config.patch_embedding, "patch_embedding", PATCH_EMBEDDINGS)
    check_backbone(config.backbone_layers, config.backbone_width)
    hybrid = config.patch_embedding == "resnetv2"
    if check_size:
        # A hybrid's patches cut the CNN's feature map, not the image.
        check_divisible(backbone_grid(image_size, config.backbone_layers) if hybrid else image_size, patch_size)
    if config.backbone_layers and not hybrid:
        raise ValueError(
            f"backbone_layers={config.backbone_layers} configures the CNN of a hybrid ViT; set "
            f"patch_embedding='resnetv2', or backbone_layers=() (patch_embedding={config.patch_embedding!r})."
        )
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
    check_dist_token_init_std(config.dist_token_init_std, config.distillation_token)
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


def validate_swin_config(config, check_size=True):
    """Raise `ValueError` naming the first invalid field of the `SwinConfig` `config`; return it
    (`check_size`: as `validate_config`'s)."""
    from keras_vit.layers.activations import ACTIVATIONS

    image_size = to_pair(config.image_size, "image_size")
    patch_size = to_pair(config.patch_size, "patch_size")
    if check_size:
        check_divisible(image_size, patch_size)
    for field in ("channels", "embed_dim", "window_size"):
        check_positive_int(getattr(config, field), field)
    for field in ("depths", "num_heads"):
        values = getattr(config, field)
        if not isinstance(values, tuple) or not values or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values
        ):
            raise ValueError(f"{field} must be a non-empty tuple of positive ints (one per stage); got {values!r}.")
    if len(config.depths) != len(config.num_heads):
        raise ValueError(
            f"depths {config.depths} and num_heads {config.num_heads} must have one entry per stage each."
        )
    for dim, heads in zip(stage_dims(config), config.num_heads):
        check_heads(dim, heads)
    grids = stage_grids(config) if check_size else []
    for stage, grid in enumerate(grids[:-1]):
        if grid[0] % 2 or grid[1] % 2:
            raise ValueError(
                f"Stage {stage}'s {grid[0]}x{grid[1]} map cannot be halved by the patch merging before stage "
                f"{stage + 1}: image_size {config.image_size} with patch_size {config.patch_size} needs an even map "
                f"before every merging ({len(config.depths)} stages: {', '.join(f'{h}x{w}' for h, w in grids)})."
            )
    check_positive_number(config.mlp_ratio, "mlp_ratio")
    check_bool(config.qkv_bias, "qkv_bias")
    check_choice(config.activation, "activation", tuple(ACTIVATIONS))
    for field in ("dropout", "attention_dropout", "drop_path_rate"):
        check_rate(getattr(config, field), field)
    return config


def describes(name, config):
    """Whether the table row `name` describes `config`: every field equal but regularization (dropout,
    drop-path), which does not change what a model is (timm's names do not change with it either)."""
    if name not in CONFIGS or type(CONFIGS[name]) is not type(config):
        return False
    defaults = {field: getattr(type(config)(), field) for field in REGULARIZATION_FIELDS}
    return dataclasses.replace(CONFIGS[name], **defaults) == dataclasses.replace(config, **defaults)


def config_from_dict(fields, config_type=None):
    """A validated config (`ViTConfig`, or `config_type`) from its fields, as `dataclasses.asdict` (or JSON, with
    lists for pairs) gives them."""
    return validate_config(_replace((config_type or ViTConfig)(), dict(fields)))
