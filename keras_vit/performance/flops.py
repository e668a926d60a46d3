"""Analytic FLOPs of a ViT forward pass, per image.

Convention: one multiply-add is 2 FLOPs, and only the matrix products are counted (the
patch projection or conv stem, QKV and output projections, the two attention products `Q K^T` and
`A V`, the MLP and the head). Element-wise work — LayerNorm, GELU, softmax, biases,
residual adds, position embeddings — is left out, as fvcore and most papers do; it is a
few percent of the total (GELU over the MLP's hidden units is the largest part).

A training step (forward + backward) costs about 3x the forward FLOPs: the backward pass
computes the gradient with respect to both the activations and the weights of every
product, two products of the forward's size each.
"""

import dataclasses

from keras_vit.layers.conv_stem import stem_widths
from keras_vit.layers.validation import to_pair
from keras_vit.models.configs import ViTConfig, get_config
from keras_vit.models.parts import transformer_blocks_of


@dataclasses.dataclass(frozen=True)
class _Architecture:
    """The sizes FLOPs depend on, read from a config or a built model."""

    image_size: tuple
    patch_size: tuple
    patch_embedding: str
    stem_entry_width: int
    channels: int
    dim: int
    num_prefix_tokens: int
    blocks: tuple  # (num_heads, mlp_dim) per block
    head_units: tuple  # output units of each head ("head", then "head_dist")


def flop_breakdown(model_or_config, image_size=None, num_classes=None):
    """Forward FLOPs per image by term, summed over the blocks.

    Args:
        model_or_config: a `ViTConfig`, a config name from `list_configs()`, or a built
            keras_vit model (from `build_vit` or `build_deit`).
        image_size: int or `(h, w)`; the image size to count at (default: the config's or
            the model's own).
        num_classes: the head's width when counting a config; a config without it is
            counted without a head (a built model's heads are read from its layers).

    Returns:
        dict with int values: `patch_embedding`, `qkv`, `attention_scores` (`Q K^T`),
        `attention_values` (`A V`), `attention_output` (the output projection), `mlp`,
        `head`.
    """
    arch = _architecture(model_or_config, num_classes)
    if image_size is not None:
        arch = dataclasses.replace(arch, image_size=to_pair(image_size, "image_size"))
    (height, width), (ph, pw) = arch.image_size, arch.patch_size
    if height % ph or width % pw:
        raise ValueError(f"Image size {height}x{width} is not divisible by patch size {ph}x{pw}.")
    patches = (height // ph) * (width // pw)
    tokens = arch.num_prefix_tokens + patches
    dim = arch.dim
    terms = dict(
        patch_embedding=_patch_embedding_flops(arch, patches),
        qkv=0,
        attention_scores=0,
        attention_values=0,
        attention_output=0,
        mlp=0,
        head=sum(2 * dim * units for units in arch.head_units),
    )
    for _num_heads, mlp_dim in arch.blocks:
        terms["qkv"] += 2 * tokens * dim * 3 * dim
        # Each head multiplies (tokens, head_dim) by (head_dim, tokens); heads * head_dim = dim.
        terms["attention_scores"] += 2 * tokens * tokens * dim
        terms["attention_values"] += 2 * tokens * tokens * dim
        terms["attention_output"] += 2 * tokens * dim * dim
        terms["mlp"] += 2 * tokens * dim * mlp_dim * 2
    return terms


def _patch_embedding_flops(arch, patches):
    """A `(ph*pw*C, dim)` product per patch; a conv stem's 3x3 convolutions and 1x1 projection."""
    if arch.patch_embedding != "conv_stem":
        return 2 * patches * (arch.patch_size[0] * arch.patch_size[1] * arch.channels) * arch.dim
    (height, width), total, channels = arch.image_size, 0, arch.channels
    if arch.stem_entry_width:  # stride 1: full resolution
        total += 2 * height * width * (9 * channels) * arch.stem_entry_width
        channels = arch.stem_entry_width
    for stage_width in stem_widths(arch.dim, arch.patch_size):
        height, width = height // 2, width // 2
        total += 2 * height * width * (9 * channels) * stage_width
        channels = stage_width
    return total + 2 * patches * channels * arch.dim


def flops(model_or_config, image_size=None, *, num_classes=None, training=False):
    """Analytic FLOPs per image: the forward pass, or a training step with `training=True`.

    A multiply-add counts as 2 FLOPs and only matrix products are counted (see
    `flop_breakdown` for the terms and arguments). `training=True` gives 3x the forward
    FLOPs: the backward pass costs about twice the forward.
    """
    forward = sum(flop_breakdown(model_or_config, image_size, num_classes).values())
    return 3 * forward if training else forward


def _architecture(model_or_config, num_classes):
    if isinstance(model_or_config, str):
        model_or_config = get_config(model_or_config)
    if isinstance(model_or_config, ViTConfig):
        return _from_config(model_or_config, num_classes)
    if hasattr(model_or_config, "get_layer"):
        if num_classes is not None:
            raise ValueError("num_classes is read from a built model's head; pass it only with a config.")
        return _from_model(model_or_config)
    raise ValueError(
        "flops expects a ViTConfig, a config name from keras_vit.list_configs() or a built keras_vit "
        f"model; got {type(model_or_config).__name__}."
    )


def _from_config(config, num_classes):
    if num_classes is not None and (not isinstance(num_classes, int) or num_classes <= 0):
        raise ValueError(f"num_classes must be a positive int or None; got {num_classes!r}.")
    heads = 2 if config.distillation_token else 1
    return _Architecture(
        image_size=to_pair(config.image_size, "image_size"),
        patch_size=to_pair(config.patch_size, "patch_size"),
        patch_embedding=config.patch_embedding,
        stem_entry_width=config.stem_entry_width,
        channels=config.channels,
        dim=config.dim,
        num_prefix_tokens=int(config.class_token) + int(config.distillation_token),
        blocks=((config.num_heads, config.mlp_dim),) * config.depth,
        head_units=(num_classes,) * heads if num_classes else (),
    )


def _from_model(model):
    names = {layer.name for layer in model.layers}
    if "patch_encoder" not in names:
        raise ValueError(
            f"Model {model.name!r} has no 'patch_encoder' layer: flops reads models built by "
            "keras_vit.build_vit or keras_vit.build_deit."
        )
    encoder = model.get_layer("patch_encoder")
    _, height, width, channels = model.input_shape
    blocks = [(block.num_heads, block.mlp_dim) for block in transformer_blocks_of(model, "flops")]
    return _Architecture(
        image_size=(height, width),
        patch_size=encoder.patch_size,
        patch_embedding=encoder.patch_embedding,
        stem_entry_width=encoder.stem_entry_width,
        channels=channels,
        dim=encoder.dim,
        num_prefix_tokens=encoder.num_prefix_tokens,
        blocks=tuple(blocks),
        head_units=tuple(model.get_layer(name).units for name in ("head", "head_dist") if name in names),
    )
