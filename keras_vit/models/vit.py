import keras

from keras_vit.layers import LayerNorm, PatchEncoder, TokenPooling, TransformerBlock
from keras_vit.layers.validation import to_pair
from keras_vit.models.configs import get_config, validate_config


def resolve_config(name=None, *, image_size=None, pooling=None, dropout=None, drop_path_rate=None, **overrides):
    """The named config with every non-None keyword applied, validated."""
    explicit = dict(image_size=image_size, pooling=pooling, dropout=dropout, drop_path_rate=drop_path_rate)
    overrides.update({key: value for key, value in explicit.items() if value is not None})
    return validate_config(get_config(name, **overrides))


def encode(inputs, config):
    """Images `(B, H, W, C)` -> normalized tokens `(B, T + N, dim)` through every block."""
    x = PatchEncoder(
        config.dim,
        config.patch_size,
        patch_embedding=config.patch_embedding,
        stem_entry_width=config.stem_entry_width,
        position_embedding=config.position_embedding,
        class_token=config.class_token,
        distillation_token=config.distillation_token,
        dropout=config.dropout,
        name="patch_encoder",
    )(inputs)
    for index in range(config.depth):
        # Drop-path rises linearly from 0 at the first block to drop_path_rate at the last.
        rate = config.drop_path_rate * index / max(config.depth - 1, 1)
        x = TransformerBlock(
            config.num_heads,
            config.mlp_dim,
            dropout=config.dropout,
            attention_dropout=config.attention_dropout,
            drop_path=rate,
            init_values=config.init_values,
            qkv_bias=config.qkv_bias,
            qk_norm=config.qk_norm,
            layer_norm_epsilon=config.layer_norm_epsilon,
            name=f"block_{index}",
        )(x)
    return LayerNorm(epsilon=config.layer_norm_epsilon, name="norm")(x)


def check_num_classes(num_classes, include_top):
    if include_top and (not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes <= 0):
        raise ValueError(f"num_classes must be a positive int when include_top=True; got {num_classes!r}.")


def build_vit(
    name=None,
    *,
    num_classes,
    image_size=None,
    pooling=None,
    include_top=True,
    dropout=None,
    drop_path_rate=None,
    **overrides,
):
    """Build a Vision Transformer as a functional `keras.Model`.

    Args:
        name: a name from `list_configs()`, or None to give every field by keyword.
        num_classes: number of output logits; may be None when `include_top=False`.
        image_size: int or `(h, w)`; overrides the config's image size.
        pooling: `"token"` (CLS token) or `"gap"` (mean of patch tokens).
        include_top: with the classification head, the model maps images
            `(B, H, W, C)` to logits `(B, num_classes)` (float32 under mixed precision);
            without it, to pooled features `(B, dim)`.
        dropout, drop_path_rate: regularization; drop-path rises linearly with depth.
        **overrides: any other `ViTConfig` field (`patch_size`, `dim`, `depth`,
            `num_heads`, `mlp_dim`, `channels`, `qk_norm`, `init_values`, ...).
    """
    check_num_classes(num_classes, include_top)
    config = resolve_config(
        name, image_size=image_size, pooling=pooling, dropout=dropout, drop_path_rate=drop_path_rate, **overrides
    )
    if config.distillation_token:
        raise ValueError(
            f"Config {name or 'given'} has a distillation token: build it with keras_vit.build_deit, "
            "which adds the distillation head."
        )
    return vit_from_config(config, num_classes=num_classes, include_top=include_top, name=name or "vit")


def image_input(config):
    height, width = to_pair(config.image_size, "image_size")
    return keras.Input((height, width, config.channels), name="images")


def vit_from_config(config, *, num_classes, include_top=True, name="vit"):
    """The functional ViT for a validated `ViTConfig` without a distillation token."""
    inputs = image_input(config)
    x = encode(inputs, config)
    x = TokenPooling(config.pooling, int(config.class_token), name="pool")(x)
    if include_top:
        x = keras.layers.Dropout(config.dropout, name="head_dropout")(x)
        x = keras.layers.Dense(num_classes, dtype="float32", name="head")(x)
    return keras.Model(inputs, x, name=name)
