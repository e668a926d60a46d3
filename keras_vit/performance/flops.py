"""Analytic FLOPs of a ViT forward pass, per image.

Convention: one multiply-add is 2 FLOPs, and only the matrix products are counted (the
patch projection or conv stem, QKV and output projections, the two attention products `Q K^T` and
`A V`, the MLP, an attention-pool head (`pooling="map"`) and the head). Element-wise work —
LayerNorm (`norm_pre` and `fc_norm` too), GELU, softmax, biases, residual adds, position
embeddings — is left out, as fvcore and most papers do; it is a few percent of the total (GELU
over the MLP's hidden units is the largest part). Register tokens are tokens like the others.

A Swin Transformer (`SwinConfig`) is counted the same way, block by block: its attention products are
within windows (`tokens x window area`, not `tokens x tokens`), so its cost grows linearly with the image area;
a padded map (not a whole number of windows) is counted padded, as it is computed. The patch mergings'
projections are their own term. A hybrid ViT's patch embedding counts its ResNetV2's convolutions.

A training step (forward + backward) costs about 3x the forward FLOPs: the backward pass
computes the gradient with respect to both the activations and the weights of every
product, two products of the forward's size each.
"""

import dataclasses
import math

from keras_vit.checks import check_divisible, to_pair
from keras_vit.layers.conv_stem import stem_widths
from keras_vit.layers.resnetv2 import backbone_grid, stage_widths
from keras_vit.layers.windows import padded_grid, window_and_shift
from keras_vit.models.configs import SwinConfig, ViTConfig, get_config, stage_dims, stage_grids, validate_config


def flop_breakdown(model_or_config, image_size=None, num_classes=None):
    """Forward FLOPs per image by term, summed over the blocks.

    Args:
        model_or_config: a `ViTConfig` or `SwinConfig`, a config name from `list_configs()`, or a
            `VisionTransformer` or `SwinTransformer` (from `build_vit`, `build_deit`, `build_swin` or
            `load_checkpoint`).
        image_size: int or `(h, w)`; the image size to count at (default: the config's or
            the model's own).
        num_classes: the head's width when counting a config; a config without it is
            counted without a head (a model's heads are its own).

    Returns:
        dict with int values: `patch_embedding`, `qkv`, `attention_scores` (`Q K^T`),
        `attention_values` (`A V`), `attention_output` (the output projection), `mlp`,
        `head`; and `attention_pool` for `pooling="map"` (its one query over the patch tokens:
        the query, key/value and output projections, both attention products and its MLP); and
        `patch_merging` for a Swin Transformer.
    """
    config, num_classes = _config_and_classes(model_or_config, num_classes)
    breakdowns = {ViTConfig: _vit_breakdown, SwinConfig: _swin_breakdown}
    return breakdowns[type(config)](config, image_size, num_classes)


def _swin_breakdown(config, image_size, num_classes):
    if image_size is not None:
        config = validate_config(dataclasses.replace(config, image_size=image_size))
    patch_size = to_pair(config.patch_size, "patch_size")
    grid = stage_grids(config)[0]
    terms = dict.fromkeys(("qkv", "attention_scores", "attention_values", "attention_output", "mlp", "patch_merging"), 0)
    terms["patch_embedding"] = 2 * grid[0] * grid[1] * patch_size[0] * patch_size[1] * config.channels * config.embed_dim
    dims = stage_dims(config)
    for stage, (depth, dim, grid) in enumerate(zip(config.depths, dims, stage_grids(config))):
        tokens = grid[0] * grid[1]
        if stage:  # (4 * previous width) -> width per output token
            terms["patch_merging"] += 2 * tokens * 4 * dims[stage - 1] * dim
        for index in range(depth):
            window, _ = window_and_shift(grid, config.window_size, index % 2 == 1)
            padded = math.prod(padded_grid(grid, window))
            area = window[0] * window[1]
            terms["qkv"] += 2 * padded * dim * 3 * dim
            terms["attention_scores"] += 2 * padded * area * dim
            terms["attention_values"] += 2 * padded * area * dim
            terms["attention_output"] += 2 * padded * dim * dim
            terms["mlp"] += 2 * tokens * dim * int(dim * config.mlp_ratio) * 2
    terms["head"] = 2 * dims[-1] * num_classes if num_classes else 0
    return terms


def _vit_breakdown(config, image_size, num_classes):
    image_size = to_pair(config.image_size if image_size is None else image_size, "image_size")
    patch_size = to_pair(config.patch_size, "patch_size")
    grid = backbone_grid(image_size, config.backbone_layers) if config.patch_embedding == "resnetv2" else image_size
    check_divisible(grid, patch_size)
    patches = (grid[0] // patch_size[0]) * (grid[1] // patch_size[1])
    tokens = int(config.class_token) + int(config.distillation_token) + config.reg_tokens + patches
    dim, depth = config.dim, config.depth
    heads = 2 if config.distillation_token else 1
    breakdown = dict(
        patch_embedding=_patch_embedding_flops(config, image_size, patch_size, patches),
        qkv=depth * 2 * tokens * dim * 3 * dim,
        # Each head multiplies (tokens, head_dim) by (head_dim, tokens); heads * head_dim = dim.
        attention_scores=depth * 2 * tokens * tokens * dim,
        attention_values=depth * 2 * tokens * tokens * dim,
        attention_output=depth * 2 * tokens * dim * dim,
        mlp=depth * 2 * tokens * dim * config.mlp_dim * 2,
        head=heads * 2 * dim * num_classes if num_classes else 0,
    )
    if config.pooling == "map":
        breakdown["attention_pool"] = _attention_pool_flops(dim, config.mlp_dim, patches)
    return breakdown


def _attention_pool_flops(dim, mlp_dim, patches):
    """One query token attending over the patch tokens, then its output projection and MLP."""
    projections = 2 * dim * dim + 2 * patches * dim * 2 * dim + 2 * dim * dim  # q (one token), kv, proj
    attention = 2 * patches * dim + 2 * patches * dim  # q k^T and a v for one query
    return projections + attention + 2 * dim * mlp_dim * 2


def _patch_embedding_flops(config, image_size, patch_size, patches):
    """A `(ph*pw*C, dim)` product per patch; a conv stem's 3x3 convolutions and 1x1 projection; a hybrid's
    ResNetV2 and its projection."""
    if config.patch_embedding == "resnetv2":
        return _backbone_flops(config, image_size) + 2 * patches * patch_size[0] * patch_size[1] * _features(config) * config.dim
    if config.patch_embedding != "conv_stem":
        return 2 * patches * (patch_size[0] * patch_size[1] * config.channels) * config.dim
    (height, width), total, channels = image_size, 0, config.channels
    if config.stem_entry_width:  # stride 1: full resolution
        total += 2 * height * width * (9 * channels) * config.stem_entry_width
        channels = config.stem_entry_width
    for stage_width in stem_widths(config.dim, patch_size):
        height, width = height // 2, width // 2
        total += 2 * height * width * (9 * channels) * stage_width
        channels = stage_width
    return total + 2 * patches * channels * config.dim


def _features(config):
    widths = stage_widths(config.backbone_layers, config.backbone_width)
    return widths[-1][1] if widths else config.backbone_width


def _backbone_flops(config, image_size):
    """The ResNetV2's convolutions: the 7x7 stride-2 stem, then each bottleneck's 1x1, 3x3 and 1x1 convolutions
    (and a stage's first projection shortcut) at their output resolution."""
    height, width = (math.ceil(size / 2) for size in image_size)
    total = 2 * height * width * 49 * config.channels * config.backbone_width
    height, width = math.ceil(height / 2), math.ceil(width / 2)  # max pooling
    channels = config.backbone_width
    for stage, (depth, (mid, out)) in enumerate(zip(config.backbone_layers, stage_widths(config.backbone_layers, config.backbone_width))):
        for index in range(depth):
            inputs = height * width
            if stage and not index:
                height, width = math.ceil(height / 2), math.ceil(width / 2)
            cells = height * width
            total += 2 * inputs * channels * mid + 2 * cells * 9 * mid * mid + 2 * cells * mid * out
            if not index:
                total += 2 * cells * channels * out
            channels = out
    return total


def flops(model_or_config, image_size=None, *, num_classes=None, training=False):
    """Analytic FLOPs per image: the forward pass, or a training step with `training=True`.

    A multiply-add counts as 2 FLOPs and only matrix products are counted (see
    `flop_breakdown` for the terms and arguments). `training=True` gives 3x the forward
    FLOPs: the backward pass costs about twice the forward.
    """
    forward = sum(flop_breakdown(model_or_config, image_size, num_classes).values())
    return 3 * forward if training else forward


def _config_and_classes(model_or_config, num_classes):
    """`(config, num_classes or None)` of a config, a config name or a `VisionTransformer` / `SwinTransformer`."""
    from keras_vit.models import SwinTransformer, VisionTransformer

    if isinstance(model_or_config, (VisionTransformer, SwinTransformer)):
        if num_classes is not None:
            raise ValueError("num_classes is read from a built model's head; pass it only with a config.")
        return model_or_config.config, model_or_config.num_classes
    if isinstance(model_or_config, str):
        model_or_config = get_config(model_or_config)
    if not isinstance(model_or_config, (ViTConfig, SwinConfig)):
        raise ValueError(
            "flops expects a ViTConfig or SwinConfig, a config name from keras_vit.list_configs(), or a "
            "VisionTransformer or SwinTransformer (from build_vit, build_deit, build_swin or load_checkpoint); got "
            f"{type(model_or_config).__name__}."
        )
    if num_classes is not None and (not isinstance(num_classes, int) or num_classes <= 0):
        raise ValueError(f"num_classes must be a positive int or None; got {num_classes!r}.")
    return model_or_config, num_classes
