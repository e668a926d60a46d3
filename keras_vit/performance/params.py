"""The parameter count of a config, without building the model (`keras-vit list` shows it for every row,
ViT-L included). It counts what `model.count_params()` counts, non-trainable weights (BatchNorm
statistics, a fixed sincos position table) included."""

from keras_vit.checks import to_pair
from keras_vit.layers.conv_stem import stem_widths
from keras_vit.models.configs import ViTConfig, get_config


def _patch_embedding_params(config, patch_size):
    bias = 0 if config.norm_pre else config.dim  # timm's CLIP: a norm before the blocks, no projection bias
    if config.patch_embedding != "conv_stem":
        return patch_size[0] * patch_size[1] * config.channels * config.dim + bias
    total, channels = 0, config.channels
    widths = ([config.stem_entry_width] if config.stem_entry_width else []) + stem_widths(config.dim, patch_size)
    for width in widths:  # a bias-free 3x3 convolution and BatchNorm (scale, offset, mean, variance)
        total += 9 * channels * width + 4 * width
        channels = width
    return total + channels * config.dim + bias  # the 1x1 projection


def parameter_count(config, num_classes=1000):
    """`model.count_params()` of `build_vit(config, num_classes=num_classes)` (None: no head), from the
    config alone; `config` is a `ViTConfig` or a config name."""
    if isinstance(config, str):
        config = get_config(config)
    if not isinstance(config, ViTConfig):
        raise ValueError(f"parameter_count expects a ViTConfig or a config name; got {type(config).__name__}.")
    image_size, patch_size = to_pair(config.image_size, "image_size"), to_pair(config.patch_size, "patch_size")
    dim, mlp_dim = config.dim, config.mlp_dim
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
