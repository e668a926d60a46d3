"""The parameter count of a config, without building the model (`keras-vit list` shows it for every row,
ViT-L included). It counts what `model.count_params()` counts, non-trainable weights (BatchNorm
statistics, a fixed sincos position table) included."""

from keras_vit.checks import to_pair
from keras_vit.layers.conv_stem import stem_widths
from keras_vit.layers.resnetv2 import backbone_grid, stage_widths
from keras_vit.layers.windows import window_and_shift
from keras_vit.models.configs import SwinConfig, ViTConfig, get_config, stage_dims, stage_grids


def _conv(kernel, channels, width, bias=False):
    return kernel * kernel * channels * width + (width if bias else 0)


def _backbone_params(config):
    """timm's ResNetV2 of a hybrid: bias-free standardized convolutions, each with a GroupNorm (scale, offset)."""
    width = config.backbone_width
    total = _conv(7, config.channels, width) + 2 * width
    channels = width
    for depth, (mid, out) in zip(config.backbone_layers, stage_widths(config.backbone_layers, width)):
        for index in range(depth):
            total += _conv(1, channels, mid) + _conv(3, mid, mid) + _conv(1, mid, out) + 2 * (2 * mid + out)
            if index == 0:  # the projection shortcut
                total += _conv(1, channels, out) + 2 * out
            channels = out
    return total, channels


def _patch_embedding_params(config, patch_size):
    bias = 0 if config.norm_pre else config.dim  # timm's CLIP: a norm before the blocks, no projection bias
    if config.patch_embedding == "resnetv2":
        total, channels = _backbone_params(config)
        return total + patch_size[0] * patch_size[1] * channels * config.dim + bias
    if config.patch_embedding != "conv_stem":
        return patch_size[0] * patch_size[1] * config.channels * config.dim + bias
    total, channels = 0, config.channels
    widths = ([config.stem_entry_width] if config.stem_entry_width else []) + stem_widths(config.dim, patch_size)
    for width in widths:  # a bias-free 3x3 convolution and BatchNorm (scale, offset, mean, variance)
        total += 9 * channels * width + 4 * width
        channels = width
    return total + channels * config.dim + bias  # the 1x1 projection


def parameter_count(config, num_classes=1000):
    """`model.count_params()` of the model `config` builds (`build_vit`, `build_swin`) with `num_classes` logits
    (None: no head), from the config alone; `config` is a `ViTConfig`, a `SwinConfig` or a config name."""
    if isinstance(config, str):
        config = get_config(config)
    counts = {ViTConfig: _vit_parameter_count, SwinConfig: _swin_parameter_count}
    if type(config) not in counts:
        raise ValueError(
            f"parameter_count expects a ViTConfig, a SwinConfig or a config name; got {type(config).__name__}."
        )
    return counts[type(config)](config, num_classes)


def _swin_parameter_count(config, num_classes):
    dims, grids = stage_dims(config), stage_grids(config)
    patch_size = to_pair(config.patch_size, "patch_size")
    total = patch_size[0] * patch_size[1] * config.channels * config.embed_dim + config.embed_dim + 2 * config.embed_dim
    for stage, (depth, heads, dim, grid) in enumerate(zip(config.depths, config.num_heads, dims, grids)):
        if stage:  # patch merging: a norm over the 4 neighbours' features and a bias-free projection
            total += 2 * 2 * dim + 2 * dim * dim
        mlp_dim = int(dim * config.mlp_ratio)
        for index in range(depth):
            (wh, ww), _ = window_and_shift(grid, config.window_size, index % 2 == 1)
            total += (
                2 * dim  # norm1
                + 3 * dim * dim + (3 * dim if config.qkv_bias else 0)  # qkv
                + (2 * wh - 1) * (2 * ww - 1) * heads  # the relative position bias table
                + dim * dim + dim  # proj
                + 2 * dim  # norm2
                + dim * mlp_dim + mlp_dim + mlp_dim * dim + dim  # fc1, fc2
            )
    total += 2 * dims[-1]  # the final norm
    return total + (dims[-1] * num_classes + num_classes if num_classes else 0)


def _vit_parameter_count(config, num_classes):
    image_size, patch_size = to_pair(config.image_size, "image_size"), to_pair(config.patch_size, "patch_size")
    dim, mlp_dim = config.dim, config.mlp_dim
    if config.patch_embedding == "resnetv2":
        image_size = backbone_grid(image_size, config.backbone_layers)
    num_patches = (image_size[0] // patch_size[0]) * (image_size[1] // patch_size[1])
    num_prefix = int(config.class_token) + int(config.distillation_token) + config.reg_tokens
    prefix_rows = 0 if config.no_embed_class else num_prefix
    positions = {"learned": prefix_rows + num_patches, "sincos2d": num_patches, "none": 0}[config.position_embedding]
    encoder = _patch_embedding_params(config, patch_size) + num_prefix * dim + positions * dim
    block = (
        2 * dim  # norm1
        + 3 * dim * dim + (3 * dim if config.qkv_bias else 0)  # qkv
        + (4 * (dim // config.num_heads) if config.qk_norm else 0)  # q_norm, k_norm
        + dim * dim + dim  # proj
        + 2 * dim  # norm2
        + dim * mlp_dim + mlp_dim + mlp_dim * dim + dim  # fc1, fc2
        + (2 * dim if config.init_values is not None else 0)  # ls1, ls2
    )
    norms = 2 * dim * (1 + int(config.norm_pre))  # the final norm (or fc_norm after the pooling), norm_pre
    pool = 0
    if config.pooling == "map":  # a latent query, q, kv and output projections, a norm and an MLP
        pool = dim + (dim * dim + dim) + (2 * dim * dim + 2 * dim) + (dim * dim + dim) + 2 * dim
        pool += dim * mlp_dim + mlp_dim + mlp_dim * dim + dim
    heads = (2 if config.distillation_token else 1) * (dim * num_classes + num_classes) if num_classes else 0
    return encoder + config.depth * block + norms + pool + heads
