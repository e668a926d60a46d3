"""`SwinTransformer`: the hierarchical Vision Transformer with shifted windows (Liu et al. 2021), and `build_swin`."""

import dataclasses

import keras

from keras_vit.checks import check_num_classes
from keras_vit.layers import LayerNorm
from keras_vit.layers.patch_merging import PatchMerging
from keras_vit.layers.swin_block import SwinBlock
from keras_vit.models.classifier import ImageClassifier, dtype_policy_of, pixel_input, preprocessing_layer
from keras_vit.models.configs import SwinConfig, config_from_dict, describes, get_config, stage_dims, validate_config


@keras.saving.register_keras_serializable(package="keras_vit")
class SwinTransformer(ImageClassifier):
    """A Swin Transformer as timm builds it (`SwinTransformer`), as one model object.

    Raw pixels `(B, H, W, C)` in [0, 255] (the input convention of `keras_vit.models.classifier`) -> logits
    `(B, num_classes)` (float32 under mixed precision), or pooled features `(B, dim)` without a top. The graph:
    `preprocessing`, `patch_embed` (a `patch_size` strided `Conv2D`) and `patch_norm`, then per stage a
    `PatchMerging` (`merges[i - 1]`, from the second stage) and its `SwinBlock`s (`stage_blocks(i)`; all of them
    in order in `blocks`, every second one shifted), the final `norm`, the average over the map (`pool`),
    `head_dropout` and the `head`. Windows: see `SwinBlock`; attention costs grow linearly with the image area.

    Args:
        config: a `SwinConfig` (or its fields as a dict).
        num_classes: the number of logits; None without a top.
        include_top: with the classification head; without, the model gives pooled features.
        class_names, input_normalization, name, dtype: as `VisionTransformer`'s (default name "swin").

    Attributes: `config`, `num_classes`, `include_top`, `class_names`, `input_normalization`, and the parts
    `preprocessing`, `patch_embed`, `patch_norm`, `merges`, `blocks`, `norm`, `pool`, `head_dropout`, `head`
    (None without a top).
    """

    def __init__(self, config, num_classes=None, *, include_top=True, class_names=None, input_normalization=None,
                 name=None, dtype=None, **kwargs):  # fmt: skip
        config = validate_config(config) if isinstance(config, SwinConfig) else config_from_dict(config, SwinConfig)
        check_num_classes(num_classes, include_top)
        policy = dtype_policy_of(dtype)
        preprocessing = preprocessing_layer(input_normalization, config.channels)
        patch_embed = keras.layers.Conv2D(
            config.embed_dim, config.patch_size, strides=config.patch_size, dtype=policy, name="patch_embed"
        )
        norm = lambda name: LayerNorm(epsilon=config.layer_norm_epsilon, dtype=policy, name=name)  # noqa: E731
        patch_norm = norm("patch_norm")
        dims = stage_dims(config)
        merges = [
            PatchMerging(dim, layer_norm_epsilon=config.layer_norm_epsilon, dtype=policy, name=f"merge_{stage}")
            for stage, dim in enumerate(dims) if stage
        ]  # fmt: skip
        total = sum(config.depths)
        blocks = []
        for stage, (depth, heads, dim) in enumerate(zip(config.depths, config.num_heads, dims)):
            for index in range(depth):
                blocks.append(SwinBlock(
                    heads, config.window_size, shifted=index % 2 == 1, mlp_dim=int(dim * config.mlp_ratio),
                    qkv_bias=config.qkv_bias, dropout=config.dropout, attention_dropout=config.attention_dropout,
                    # Drop-path rises linearly over all the blocks (timm's rates).
                    drop_path=config.drop_path_rate * len(blocks) / max(total - 1, 1),
                    layer_norm_epsilon=config.layer_norm_epsilon, activation=config.activation, dtype=policy,
                    name=f"stage{stage}_block{index}",
                ))  # fmt: skip
        final_norm = norm("norm")
        pool = keras.layers.GlobalAveragePooling2D(dtype=policy, name="pool")
        head_dropout = keras.layers.Dropout(config.dropout, dtype=policy, name="head_dropout") if include_top else None
        head = keras.layers.Dense(num_classes, dtype="float32", name="head") if include_top else None

        inputs = pixel_input(config.image_size, config.channels)
        x = patch_norm(patch_embed(preprocessing(inputs)))
        for stage in range(len(config.depths)):
            if stage:
                x = merges[stage - 1](x)
            for block in blocks[sum(config.depths[:stage]) : sum(config.depths[: stage + 1])]:
                x = block(x)
        x = pool(final_norm(x))
        outputs = head(head_dropout(x)) if include_top else x
        super().__init__(
            inputs, outputs, num_classes=num_classes if include_top else None, class_names=class_names,
            input_normalization=input_normalization, preprocessing=preprocessing, dtype=policy,
            name=name or "swin", **kwargs,
        )  # fmt: skip
        self.config = config
        self.include_top = bool(include_top)
        self.patch_embed, self.patch_norm, self.merges, self.blocks = patch_embed, patch_norm, merges, blocks
        self.norm, self.pool, self.head_dropout, self.head = final_norm, pool, head_dropout, head
        self.feature_layers = list(blocks)

    @property
    def heads(self):
        return [] if self.head is None else [self.head]

    def stage_blocks(self, stage):
        """The `SwinBlock`s of stage `stage`, in order."""
        start = sum(self.config.depths[:stage])
        return self.blocks[start : start + self.config.depths[stage]]

    def no_weight_decay(self):
        """timm's rule: every variable with at most one axis, and the relative position bias tables."""
        tables = [block.attn.relative_position_bias_table for block in self.blocks]
        return super().no_weight_decay() + [table for table in tables if table.trainable]

    def layer_groups(self):
        """`[[patch_embed, patch_norm], [block], ..., [norm, head]]` from the input up; a stage's patch merging is in
        the group of its first block (timm's `group_matcher`)."""
        groups = [[self.patch_embed, self.patch_norm]]
        for stage in range(len(self.config.depths)):
            for index, block in enumerate(self.stage_blocks(stage)):
                groups.append(([self.merges[stage - 1]] if stage and not index else []) + [block])
        return groups + [[self.norm, *self.heads]]

    def get_config(self):
        return {
            **self.classifier_config(),
            "config": dataclasses.asdict(self.config),
            "num_classes": self.num_classes,
            "include_top": self.include_top,
        }


def check_swin(model, needed_by):
    """`model` if it is a `SwinTransformer`; else an error naming `needed_by`."""
    if not isinstance(model, SwinTransformer):
        raise ValueError(
            f"{needed_by} needs a keras_vit SwinTransformer (from build_swin, load_checkpoint or keras_vit.load_model); "
            f"got {type(model).__name__} {getattr(model, 'name', '')!r}."
        )
    return model


def build_swin(name=None, *, num_classes, image_size=None, include_top=True, dropout=None, drop_path_rate=None,
               class_names=None, input_normalization=None, **overrides):  # fmt: skip
    """Build a Swin Transformer: a `SwinTransformer` taking raw pixels in [0, 255].

    Args:
        name: a `swin_*` name from `list_configs()`, or None to give every `SwinConfig` field by keyword.
        num_classes: number of output logits; may be None when `include_top=False`.
        image_size: int or `(h, w)`; overrides the config's (windows stay the config's size: the cost grows
            linearly with the image area).
        include_top: with the classification head (logits `(B, num_classes)`), else pooled features `(B, dim)`.
        dropout, drop_path_rate: regularization; drop-path rises linearly over the blocks.
        class_names, input_normalization: as `build_vit`'s.
        **overrides: any other `SwinConfig` field (`patch_size`, `embed_dim`, `depths`, `num_heads`,
            `window_size`, `mlp_ratio`, `channels`, ...).

    The model is named after `name` while its config is that row's (regularization aside), else "swin".
    """
    check_num_classes(num_classes, include_top)
    explicit = dict(image_size=image_size, dropout=dropout, drop_path_rate=drop_path_rate)
    overrides.update({key: value for key, value in explicit.items() if value is not None})
    config = SwinConfig() if name is None else get_config(name)
    if not isinstance(config, SwinConfig):
        raise ValueError(f"build_swin builds the swin_* configs; {name!r} is a ViT config: use build_vit.")
    config = validate_config(get_config(name, **overrides) if name else config_from_dict(overrides, SwinConfig))
    return SwinTransformer(
        config, num_classes, include_top=include_top, class_names=class_names,
        input_normalization=input_normalization, name=name if describes(name, config) else None,
    )  # fmt: skip
