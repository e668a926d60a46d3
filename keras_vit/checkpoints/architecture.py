"""What a checkpoint's tensors say about its architecture, and what a model says about its own.

Shapes give the width, depth, MLP width, patch size, channels and which optional parts exist. They
cannot give the number of heads, the LayerNorm epsilon, the pooling, or a non-square patch grid:
those come from the checkpoint's own config (keras_vit's safetensors metadata, a transformers
`config.json`, an npz's attention kernels), else from timm's conventions (64-wide heads, epsilon
1e-6, CLS-token pooling when there is a CLS token, a square grid).
"""

import math
import re

from keras_vit.checks import to_pair

_BLOCK = re.compile(r"^blocks\.(\d+)\.")
TIMM_HEAD_DIM = 64
# Any positive value: LayerScale's init only matters before the checkpoint's gammas are loaded.
_LAYER_SCALE_INIT = 1e-5


def _shape(tensors, key, source):
    if key not in tensors:
        raise ValueError(f"{source} has no {key!r}; cannot tell the architecture (keys start: {sorted(tensors)[:8]}).")
    return tuple(tensors[key].shape)


def infer_fields(tensors, known, source):
    """`ViTConfig` fields (without image_size) from timm-layout tensors; `known` fields take precedence."""
    dim, channels, ph, pw = _shape(tensors, "patch_embed.proj.weight", source)
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
        position_embedding="learned" if "pos_embed" in tensors else "none",
        qkv_bias="blocks.0.attn.qkv.bias" in tensors,
        qk_norm="blocks.0.attn.q_norm.weight" in tensors,
        init_values=_LAYER_SCALE_INIT if "blocks.0.ls1.gamma" in tensors else None,
        layer_norm_epsilon=1e-6,
    )
    fields["pooling"] = "token" if fields["class_token"] else "gap"
    fields.update({key: value for key, value in known.items() if key != "image_size"})
    if "num_heads" not in fields:
        if fields["dim"] % TIMM_HEAD_DIM:
            raise ValueError(
                f"{source} does not record its number of heads, and its width {fields['dim']} is not a multiple "
                f"of timm's head width {TIMM_HEAD_DIM}; pass `name=` of a config with this architecture."
            )
        fields["num_heads"] = fields["dim"] // TIMM_HEAD_DIM
    return fields


def num_classes_of(tensors):
    """The checkpoint's number of classes, or None when it has no head."""
    return int(tensors["head.weight"].shape[0]) if "head.weight" in tensors else None


def position_grid(tensors, num_prefix_tokens, patch_size, known_image_size, requested_grid, source):
    """The `(rows, cols)` patch grid the checkpoint's `pos_embed` was trained on, or None without one.

    `pos_embed` has `T + N` rows, or `N` when the prefix tokens have no position (timm's
    `no_embed_class`, big_vision). A recorded image size decides `N`'s shape; otherwise a square grid,
    else the requested grid if it has `N` cells.
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
    for count in counts:
        side = math.isqrt(count)
        if count > 0 and side * side == count:
            return (side, side)
    if requested_grid is not None and requested_grid[0] * requested_grid[1] in counts:
        return tuple(requested_grid)
    raise ValueError(
        f"{source}: cannot tell the patch grid of its {length} position embeddings ({num_prefix_tokens} prefix "
        "tokens): they do not form a square and the checkpoint records no image size. Pass the image size it "
        "was trained at as image_size=."
    )


def describe_model(model):
    """The fields of a `VisionTransformer` that shapes cannot recover, as keras_vit writes them into
    safetensors metadata: image size, heads, LayerNorm epsilon, pooling and input normalization."""
    config = model.config
    fields = dict(
        image_size=list(to_pair(config.image_size, "image_size")),
        num_heads=config.num_heads,
        layer_norm_epsilon=config.layer_norm_epsilon,
        pooling=config.pooling,
    )
    if model.input_normalization is not None:
        fields["input_normalization"] = [list(values) for values in model.input_normalization]
    return fields
