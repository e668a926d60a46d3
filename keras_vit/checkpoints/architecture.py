"""What a checkpoint's tensors say about its architecture, and what a model says about its own.

Shapes and names give the width, depth, MLP width, patch size, channels and which optional parts
exist: CLS, distillation and register tokens, LayerScale, qk-norm, a pre-norm (`norm_pre`), an
attention-pool head (`attn_pool`, pooling "map"), a norm after an average pooling (`fc_norm`).
They cannot give the number of heads; nor the pooling of a file with a CLS token and a final
norm (timm's `global_pool="token"` and `"avg"` with `fc_norm=False` store the same tensors); nor
the MLP activation where timm's models of the same shapes differ (CLIP's GELU and quick-GELU
towers, SigLIP's GELU and tanh-GELU ones: any file with a pre-norm, an attention pool or no CLS
token). Those come from the checkpoint's own config (keras_vit's safetensors metadata, timm's
`config.json`, a transformers `config.json`, an npz's attention kernels) or from the caller;
`infer_fields` raises naming each one that is missing and the argument that supplies it. The
LayerNorm epsilon follows timm (1e-5 with a pre-norm, as its CLIP models; else 1e-6).
"""

import math
import re

from keras_vit.checks import to_pair

_BLOCK = re.compile(r"^blocks\.(\d+)\.")
# Any positive value: LayerScale's init only matters before the checkpoint's gammas are loaded.
_LAYER_SCALE_INIT = 1e-5
# The keyword of `load_checkpoint` that supplies each fact, and what the fact is.
_FACTS = {
    "num_heads": "its number of attention heads (shapes give only the width {dim})",
    "pooling": "its pooling: it has a CLS token and a final norm, as both timm's global_pool='token' "
    "(pooling='token') and global_pool='avg' with fc_norm=False (pooling='gap') store them",
    "activation": "its MLP activation ('gelu', 'gelu_tanh' or 'quick_gelu'): timm's models with {why} differ in it",
}


def _shape(tensors, key, source):
    if key not in tensors:
        raise ValueError(f"{source} has no {key!r}; cannot tell the architecture (keys start: {sorted(tensors)[:8]}).")
    return tuple(tensors[key].shape)


_BACKBONE_BLOCK = re.compile(r"^patch_embed\.backbone\.stages\.(\d+)\.blocks\.(\d+)\.")


def _backbone_fields(tensors, source):
    """A hybrid's ResNetV2 (timm's `patch_embed.backbone`): its stage depths, stem width and image channels."""
    stem = next((key for key in ("patch_embed.backbone.stem.conv.weight", "patch_embed.backbone.conv.weight")
                 if key in tensors), None)  # fmt: skip
    if stem is None:
        raise ValueError(f"{source}: a hybrid's backbone without its stem convolution; keys start: {sorted(tensors)[:8]}.")
    stages = {}
    for match in filter(None, map(_BACKBONE_BLOCK.match, tensors)):
        stages.setdefault(int(match.group(1)), set()).add(int(match.group(2)))
    width, channels = tensors[stem].shape[:2]
    layers = tuple(len(stages[stage]) for stage in sorted(stages))
    return dict(patch_embedding="resnetv2", backbone_layers=layers, backbone_width=int(width)), int(channels)


def pixel_patch_size(fields):
    """The pixels one token covers: `patch_size`, times the backbone's stride for a hybrid."""
    from keras_vit.layers.resnetv2 import backbone_stride

    stride = backbone_stride(fields.get("backbone_layers", ())) if fields.get("patch_embedding") == "resnetv2" else 1
    return tuple(size * stride for size in to_pair(fields["patch_size"], "patch_size"))


def shape_fields(tensors, source):
    """The `ViTConfig` fields the names and shapes of timm-layout `tensors` determine."""
    dim, channels, ph, pw = _shape(tensors, "patch_embed.proj.weight", source)
    backbone = {}
    if any(key.startswith("patch_embed.backbone.") for key in tensors):
        backbone, channels = _backbone_fields(tensors, source)
    indices = sorted({int(match.group(1)) for match in map(_BLOCK.match, tensors) if match})
    if indices != list(range(len(indices))) or not indices:
        raise ValueError(f"{source}: transformer blocks must be numbered 0..depth-1; found {indices}.")
    fields = dict(
        patch_size=(ph, pw),
        dim=dim,
        depth=len(indices),
        mlp_dim=_shape(tensors, "blocks.0.mlp.fc1.weight", source)[0],
        channels=channels,
        class_token="cls_token" in tensors,
        distillation_token="dist_token" in tensors,
        reg_tokens=int(tensors["reg_token"].shape[1]) if "reg_token" in tensors else 0,
        position_embedding="learned" if "pos_embed" in tensors else "none",
        norm_pre="norm_pre.weight" in tensors,
        qkv_bias="blocks.0.attn.qkv.bias" in tensors,
        qk_norm="blocks.0.attn.q_norm.weight" in tensors,
        init_values=_LAYER_SCALE_INIT if "blocks.0.ls1.gamma" in tensors else None,
        fc_norm="fc_norm.weight" in tensors,
        **backbone,
    )
    fields["layer_norm_epsilon"] = 1e-5 if fields["norm_pre"] else 1e-6
    if "attn_pool.latent" in tensors:
        fields["pooling"] = "map"
    elif fields["fc_norm"] or not fields["class_token"]:
        fields["pooling"] = "gap"
    return fields


def _activation_ambiguity(fields):
    """Why timm's models of these shapes differ in their MLP activation, or None when they do not."""
    if fields["norm_pre"]:
        return "a pre-norm (CLIP: GELU or quick-GELU)"
    if fields.get("pooling") == "map" or not fields["class_token"]:
        return "no CLS token or an attention pool (SigLIP: GELU or tanh-GELU)"
    return None


def infer_fields(tensors, known, source):
    """`ViTConfig` fields (without image_size) from timm-layout tensors and the `known` fields (the
    checkpoint's recorded config, then the caller's), which take precedence. Raises a `ValueError` naming
    every fact the file does not tell (see the module docstring) and the argument that supplies it."""
    fields = shape_fields(tensors, source)
    why_activation = _activation_ambiguity({**fields, **known})
    if why_activation is None:
        fields["activation"] = "gelu"
    fields.update({key: value for key, value in known.items() if key != "image_size"})
    missing = [fact for fact in ("num_heads", "pooling", "activation") if fact not in fields]
    if missing:
        reasons = "; ".join(_FACTS[fact].format(dim=fields["dim"], why=why_activation) for fact in missing)
        arguments = ", ".join(f"{fact}=" for fact in missing)
        raise ValueError(
            f"{source} does not record {reasons}. Pass {arguments} to load_checkpoint, or name= of the config it "
            "was trained as (keras_vit.list_configs()), or keep the config.json it was published with beside it."
        )
    return fields


def head_inputs(tensors):
    """The input width of the checkpoint's `head`, or None without one."""
    return int(tensors["head.weight"].shape[1]) if "head.weight" in tensors else None


def num_classes_of(tensors):
    """The checkpoint's number of classes, or None when it has no head."""
    return int(tensors["head.weight"].shape[0]) if "head.weight" in tensors else None


def position_grid(tensors, num_prefix_tokens, patch_size, known_image_size, requested_grid, source):
    """The `(rows, cols)` patch grid the checkpoint's `pos_embed` was trained on, or None without one.

    `pos_embed` has `T + N` rows, or `N` when the prefix tokens have no position (timm's
    `no_embed_class`, big_vision). A recorded image size decides `N`'s shape; otherwise a square grid
    (the one square count, or the requested grid when both counts are squares), else the requested
    grid if it has `N` cells.
    """
    if "pos_embed" not in tensors:
        return None
    length = tensors["pos_embed"].shape[1]
    counts = [length - num_prefix_tokens, length] if num_prefix_tokens else [length]
    patch_size = to_pair(patch_size, "patch_size")
    if known_image_size is not None:
        height, width = to_pair(known_image_size, "image_size")
        grid = (height // patch_size[0], width // patch_size[1])
        if grid[0] * grid[1] not in counts:
            raise ValueError(
                f"{source}: pos_embed has {length} rows, which do not fit {num_prefix_tokens} prefix tokens and the "
                f"{grid[0]}x{grid[1]} grid of its recorded image size {known_image_size}."
            )
        return grid
    requested = None if requested_grid is None else tuple(requested_grid)
    squares = [(math.isqrt(count),) * 2 for count in counts if count > 0 and math.isqrt(count) ** 2 == count]
    if len(squares) == 1:
        return squares[0]
    if requested is not None and requested[0] * requested[1] in counts:
        return requested
    why = "both its counts form a square" if squares else "they do not form a square"
    raise ValueError(
        f"{source}: cannot tell the patch grid of its {length} position embeddings ({num_prefix_tokens} prefix "
        f"tokens): {why} and the checkpoint records no image size. Pass the image size it was trained at as "
        "image_size=."
    )


def position_prefix_rows(tensors, grid):
    """How many of `pos_embed`'s rows belong to prefix tokens, for the patch grid `grid` (0: timm's `no_embed_class`)."""
    return tensors["pos_embed"].shape[1] - grid[0] * grid[1]


# What keras_vit records in its safetensors metadata: the fields shapes cannot give, or give ambiguously.
RECORDED_FIELDS = ("num_heads", "layer_norm_epsilon", "pooling", "activation", "no_embed_class", "init_values")


def describe_model(model):
    """The fields of a `VisionTransformer` that shapes cannot recover, as keras_vit writes them into
    safetensors metadata: image size, heads, LayerNorm epsilon, pooling, activation, whether the prefix
    tokens have positions, and the input normalization (null: pixels scaled to [0, 1] only). For a
    `SwinTransformer`: every architecture field of its `SwinConfig` (regularization aside) and the normalization."""
    import dataclasses

    from keras_vit.models.configs import REGULARIZATION_FIELDS, SwinConfig

    config = model.config
    fields = {"image_size": list(to_pair(config.image_size, "image_size"))}
    if isinstance(config, SwinConfig):
        fields.update({key: value for key, value in dataclasses.asdict(config).items()
                       if key not in REGULARIZATION_FIELDS and key != "image_size"})  # fmt: skip
    else:
        fields.update({field: getattr(config, field) for field in RECORDED_FIELDS})
    normalization = model.input_normalization
    fields["input_normalization"] = None if normalization is None else [list(values) for values in normalization]
    return fields
