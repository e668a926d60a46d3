"""`VisionTransformer`: ViT, DeiT and the families timm builds from the same model (DeiT III, DINOv2, CLIP's image
tower, SigLIP) as one model object, and `build_vit` / `build_deit`."""

import dataclasses
import types

import keras

from keras_vit.checks import check_num_classes
from keras_vit.layers import AttentionPooling, LayerNorm, PatchEncoder, TokenPooling, TransformerBlock
from keras_vit.layers.pooling import PREFIX_TOKENS_READ
from keras_vit.models.classifier import ImageClassifier, dtype_policy_of, pixel_input, preprocessing_layer
from keras_vit.models.configs import ViTConfig, config_from_dict, describes, get_config, validate_config


def _pool(config, num_prefix_tokens, policy):
    if config.pooling == "map":
        return AttentionPooling(
            config.num_heads, config.mlp_dim, num_prefix_tokens, activation=config.activation,
            layer_norm_epsilon=config.layer_norm_epsilon, dtype=policy, name="pool",
        )  # fmt: skip
    return TokenPooling(config.pooling, num_prefix_tokens, dtype=policy, name="pool")


def _norm(config, policy, name, present=True):
    return LayerNorm(epsilon=config.layer_norm_epsilon, dtype=policy, name=name) if present else None


def _build_parts(config, num_classes, include_top, input_normalization, policy):
    """The layers of a ViT for `config`, not yet connected; absent parts are None."""
    num_prefix_tokens = int(config.class_token) + int(config.distillation_token) + config.reg_tokens
    head_names = ("head", "head_dist") if config.distillation_token else ("head",)
    return types.SimpleNamespace(
        preprocessing=preprocessing_layer(input_normalization, config.channels),
        patch_encoder=PatchEncoder(
            config.dim,
            config.patch_size,
            patch_embedding=config.patch_embedding,
            stem_entry_width=config.stem_entry_width,
            backbone_layers=config.backbone_layers,
            backbone_width=config.backbone_width,
            position_embedding=config.position_embedding,
            class_token=config.class_token,
            distillation_token=config.distillation_token,
            dist_token_init_std=config.dist_token_init_std,
            reg_tokens=config.reg_tokens,
            no_embed_class=config.no_embed_class,
            use_bias=not config.norm_pre,  # timm: CLIP normalizes the tokens instead
            dropout=config.dropout,
            dtype=policy,
            name="patch_encoder",
        ),
        norm_pre=_norm(config, policy, "norm_pre", config.norm_pre),
        blocks=[
            TransformerBlock(
                config.num_heads,
                config.mlp_dim,
                dropout=config.dropout,
                attention_dropout=config.attention_dropout,
                # Drop-path rises linearly from 0 at the first block to drop_path_rate at the last.
                drop_path=config.drop_path_rate * index / max(config.depth - 1, 1),
                init_values=config.init_values,
                qkv_bias=config.qkv_bias,
                qk_norm=config.qk_norm,
                layer_norm_epsilon=config.layer_norm_epsilon,
                activation=config.activation,
                dtype=policy,
                name=f"block_{index}",
            )
            for index in range(config.depth)
        ],
        # With fc_norm the final norm moves after the pooling (timm's global_pool="avg", fc_norm=True).
        norm=_norm(config, policy, "norm", not config.fc_norm),
        pools=[
            _pool(config, num_prefix_tokens, policy),
            *([TokenPooling("distillation", num_prefix_tokens, dtype=policy, name="pool_dist")]
              if config.distillation_token else []),
        ],  # fmt: skip
        fc_norm=_norm(config, policy, "fc_norm", config.fc_norm),
        head_dropout=keras.layers.Dropout(config.dropout, dtype=policy, name="head_dropout") if include_top else None,
        # float32 heads: logits stay float32 under mixed precision.
        heads=[keras.layers.Dense(num_classes, dtype="float32", name=name) for name in head_names] if include_top else [],
        # A distilled DeiT's output is the mean of its two heads (the paper's and timm's inference).
        average=keras.layers.Average(dtype="float32", name="heads_average") if config.distillation_token else None,
    )


def _head_outputs(parts, images, training=None, query_tokens=None):
    """Raw pixels `(B, H, W, C)` -> one `(B, num_classes)` logits tensor per head (`(B, dim)` pooled
    features per pooling without a top). `query_tokens=k`: the last block computes its first `k` tokens only."""
    x = parts.patch_encoder(parts.preprocessing(images), training=training)
    if parts.norm_pre is not None:
        x = parts.norm_pre(x)
    for block in parts.blocks[:-1]:
        x = block(x, training=training)
    shortcut = {} if query_tokens is None else {"query_tokens": query_tokens}  # the graph records no None
    x = parts.blocks[-1](x, training=training, **shortcut)
    if parts.norm is not None:
        x = parts.norm(x)
    pooled = [pool(x) for pool in parts.pools]
    if parts.fc_norm is not None:
        pooled = [parts.fc_norm(features) for features in pooled]
    if not parts.heads:
        return pooled
    return [head(parts.head_dropout(features, training=training)) for head, features in zip(parts.heads, pooled)]


def _output(parts, head_outputs):
    return parts.average(head_outputs) if parts.average is not None else head_outputs[0]


@keras.saving.register_keras_serializable(package="keras_vit")
class VisionTransformer(ImageClassifier):
    """A Vision Transformer (Dosovitskiy et al. 2021), or a DeiT (Touvron et al. 2021), as one model object.

    Raw pixels `(B, H, W, C)` in [0, 255] (the input convention of `keras_vit.models.classifier`)
    -> logits `(B, num_classes)` (float32 under mixed precision), or pooled features `(B, dim)`
    without a top. The graph: `preprocessing` (rescaling and normalization), `patch_encoder`
    (patch projection, CLS [and distillation, or register] tokens, positions), `norm_pre` (CLIP),
    `blocks`, `norm`, `pool` (a `TokenPooling`, or an `AttentionPooling` for `pooling="map"`),
    `fc_norm` (instead of `norm`, after an average pooling), the `head` (and, for a distilled DeiT,
    `head_dist` on the distillation token; the output is the mean of both heads, as the DeiT paper
    and timm infer; `head_outputs` gives each). The config's switches (`ViTConfig`) cover DeiT III,
    DINOv2 (with registers), the CLIP image towers and SigLIP as timm builds them.

    Training computes less: when the pooling reads only the prefix tokens (CLS, distillation), the
    last block's queries, MLP and the final norm are computed for those tokens alone (its keys and
    values still come from every token). The outputs and gradients are those of the full graph;
    inference, `predict`, export and inspection run the full graph, so every token of every block
    is there to see. Average and attention pooling read every patch token: no shortcut.

    Args:
        config: a `ViTConfig` (or its fields as a dict).
        num_classes: the number of logits; None without a top.
        include_top: with the classification head(s); without, the model gives pooled features.
        class_names: a list of `num_classes` strings, or None.
        input_normalization: `(mean, std)` on the [0, 1] scale (each one number, or one per
            channel) that the network was trained on; None: inputs scaled to [0, 1] only.
        name: the Keras name; by default "vit" or "deit" (`build_vit` passes the config's table
            name when the config is that row's).
        dtype: the dtype policy of the layers (default: the global policy); heads stay float32.

    Attributes: `config`, `num_classes`, `include_top`, `class_names`, `input_normalization`, and
    the parts `preprocessing`, `patch_encoder`, `norm_pre`, `blocks` (in order), `norm`, `pool` /
    `pool_dist`, `fc_norm`, `head` / `head_dist` (None when absent).
    """

    def __init__(
        self,
        config,
        num_classes=None,
        *,
        include_top=True,
        class_names=None,
        input_normalization=None,
        name=None,
        dtype=None,
        **kwargs,
    ):
        config = validate_config(config) if isinstance(config, ViTConfig) else config_from_dict(config)
        check_num_classes(num_classes, include_top)
        policy = dtype_policy_of(dtype)
        parts = _build_parts(config, num_classes, include_top, input_normalization, policy)
        inputs = pixel_input(config.image_size, config.channels)
        outputs = _output(parts, _head_outputs(parts, inputs))
        super().__init__(
            inputs,
            outputs,
            num_classes=num_classes if include_top else None,
            class_names=class_names,
            input_normalization=input_normalization,
            preprocessing=parts.preprocessing,
            dtype=policy,
            name=name or ("deit" if config.distillation_token else "vit"),
            **kwargs,
        )
        self.config = config
        self.include_top = bool(include_top)
        self.patch_encoder = parts.patch_encoder
        self.norm_pre = parts.norm_pre
        self.blocks = parts.blocks
        self.norm = parts.norm
        self.pool, self.pool_dist = (parts.pools + [None])[:2]
        self.fc_norm = parts.fc_norm
        self.head_dropout = parts.head_dropout
        self.head, self.head_dist = (parts.heads + [None, None])[:2]
        self._average = parts.average
        self.feature_layers = [self.patch_encoder, *self.blocks]
        # The tokens the pooling reads; None when it reads them all (average pooling): no shortcut.
        read = max(PREFIX_TOKENS_READ[pool.pooling] for pool in parts.pools)
        self.training_query_tokens = read or None

    @property
    def pools(self):
        return [pool for pool in (self.pool, self.pool_dist) if pool is not None]

    @property
    def heads(self):
        return [head for head in (self.head, self.head_dist) if head is not None]

    def _parts(self):
        return types.SimpleNamespace(
            preprocessing=self.preprocessing, patch_encoder=self.patch_encoder, norm_pre=self.norm_pre,
            blocks=self.blocks, norm=self.norm, pools=self.pools, fc_norm=self.fc_norm, head_dropout=self.head_dropout,
            heads=self.heads, average=self._average,
        )  # fmt: skip

    def head_outputs(self, images, training=None):
        """Each head's logits: `[cls_logits]`, or `[cls_logits, dist_logits]` for a distilled DeiT, each
        `(B, num_classes)` (pooled features without a top). In training, through the shortcut above."""
        query_tokens = self.training_query_tokens if training else None
        return _head_outputs(self._parts(), images, training=training, query_tokens=query_tokens)

    def call(self, images, training=None, mask=None):
        if training and self.training_query_tokens:
            return _output(self._parts(), self.head_outputs(images, training=True))
        return super().call(images, training=training, mask=mask)

    def no_weight_decay(self):
        """timm's rule: every variable with at most one axis, the position embeddings and the prefix tokens."""
        encoder = self.patch_encoder
        extra = [getattr(encoder, name, None) for name in ("position_embeddings", "cls_token", "dist_token", "reg_token")]
        listed = super().no_weight_decay()
        return listed + [v for v in extra if v is not None and v.trainable and all(v is not w for w in listed)]

    def layer_groups(self):
        """`[[patch_encoder, norm_pre], [block_0], ..., [block_{L-1}], [norm, pool, fc_norm, head(s)]]` (the parts
        present), from the input up (BEiT / timm)."""
        present = lambda *layers: [layer for layer in layers if layer is not None]  # noqa: E731
        top = present(self.norm, self.pool if isinstance(self.pool, AttentionPooling) else None, self.fc_norm)
        return [present(self.patch_encoder, self.norm_pre), *[[block] for block in self.blocks], [*top, *self.heads]]

    def get_config(self):
        return {
            **self.classifier_config(),
            "config": dataclasses.asdict(self.config),
            "num_classes": self.num_classes,
            "include_top": self.include_top,
        }


def check_vision_transformer(model, needed_by):
    """`model` if it is a `VisionTransformer`; else an error naming `needed_by` and where such models come from."""
    if not isinstance(model, VisionTransformer):
        raise ValueError(
            f"{needed_by} needs a keras_vit VisionTransformer (from build_vit, build_deit, load_checkpoint or "
            f"keras_vit.load_model); got {type(model).__name__} {getattr(model, 'name', '')!r}."
        )
    return model


def resolve_config(name=None, *, image_size=None, pooling=None, dropout=None, drop_path_rate=None, **overrides):
    """The named config with every non-None keyword applied, validated."""
    explicit = dict(image_size=image_size, pooling=pooling, dropout=dropout, drop_path_rate=drop_path_rate)
    overrides.update({key: value for key, value in explicit.items() if value is not None})
    if name is not None and not isinstance(get_config(name), ViTConfig):
        raise ValueError(f"{name!r} is a {type(get_config(name)).__name__}, not a ViT config: build it with build_swin.")
    return validate_config(get_config(name, **overrides))


def build_vit(
    name=None,
    *,
    num_classes,
    image_size=None,
    pooling=None,
    include_top=True,
    dropout=None,
    drop_path_rate=None,
    class_names=None,
    input_normalization=None,
    **overrides,
):
    """Build a Vision Transformer: a `VisionTransformer` taking raw pixels in [0, 255].

    Args:
        name: a name from `list_configs()`, or None to give every field by keyword.
        num_classes: number of output logits; may be None when `include_top=False`.
        image_size: int or `(h, w)`; overrides the config's image size.
        pooling: `"token"` (CLS token), `"gap"` (mean of patch tokens) or `"map"` (attention pooling).
        include_top: with the classification head, the model maps images
            `(B, H, W, C)` to logits `(B, num_classes)` (float32 under mixed precision);
            without it, to pooled features `(B, dim)`.
        dropout, drop_path_rate: regularization; drop-path rises linearly with depth.
        class_names: the names of the classes, in label order.
        input_normalization: `(mean, std)` the network computes on (see `VisionTransformer`).
        **overrides: any other `ViTConfig` field (`patch_size`, `dim`, `depth`,
            `num_heads`, `mlp_dim`, `channels`, `qk_norm`, `init_values`, `distillation_token`, ...).

    The model is named after `name` while its config is that row's (regularization aside), else "vit"
    or "deit": a model built with other sizes does not carry the name of another model.
    """
    check_num_classes(num_classes, include_top)
    config = resolve_config(
        name, image_size=image_size, pooling=pooling, dropout=dropout, drop_path_rate=drop_path_rate, **overrides
    )
    return VisionTransformer(
        config,
        num_classes,
        include_top=include_top,
        class_names=class_names,
        input_normalization=input_normalization,
        name=name if describes(name, config) else None,
    )


def build_deit(name=None, *, num_classes, **kwargs):
    """Build a DeiT (Touvron et al. 2021): `build_vit` for the `deit_*` configs.

    A distilled config (`deit_*_distilled_*`, or `distillation_token=True`) has a distillation
    token beside the CLS token and two heads, `head` on the CLS token and `head_dist` on the
    distillation token; the model's output is their mean, and `model.head_outputs(images)` gives
    both. A config without a distillation token (`deit_tiny_patch16_224`, ...) is a plain ViT.
    """
    return build_vit(name, num_classes=num_classes, **kwargs)


def _legacy_parts(model):
    """The parts of a functional ViT / DeiT written by keras_vit 0.1 (before `VisionTransformer`), found by
    their types and names as that release built them; None for any other model."""
    layers = model.layers
    encoders = [layer for layer in layers if isinstance(layer, PatchEncoder)]
    if len(encoders) != 1 or not isinstance(model.input_shape, tuple):
        return None
    named = {layer.name: layer for layer in layers}
    return dict(
        patch_encoder=encoders[0],
        blocks=[layer for layer in layers if isinstance(layer, TransformerBlock)],
        norm=named["norm"],
        pool=named["pool"],
        heads=[named[name] for name in ("head", "head_dist") if name in named],
    )


def from_legacy_model(model, input_normalization=None):
    """The `VisionTransformer` equal to a functional ViT / DeiT saved by keras_vit 0.1, or None for another model.

    Those models took images scaled to [0, 1] (or normalized by the data pipeline with
    `input_normalization`); the returned model takes raw pixels and gives, on `x`, the old model's
    outputs on `x / 255` (or on `(x / 255 - mean) / std` with `input_normalization=(mean, std)`).
    """
    parts = _legacy_parts(model)
    if parts is None:
        return None
    encoder, blocks, first = parts["patch_encoder"], parts["blocks"], parts["blocks"][0]
    _, height, width, channels = model.input_shape
    config = get_config(
        None,
        image_size=(height, width), patch_size=encoder.patch_size, dim=encoder.dim, depth=len(blocks),
        num_heads=first.num_heads, mlp_dim=first.mlp_dim, channels=channels, pooling=parts["pool"].pooling,
        class_token=encoder.class_token, distillation_token=encoder.distillation_token,
        dist_token_init_std=encoder.dist_token_init_std,
        position_embedding=encoder.position_embedding, patch_embedding=encoder.patch_embedding,
        stem_entry_width=encoder.stem_entry_width, backbone_layers=encoder.backbone_layers,
        backbone_width=encoder.backbone_width, qkv_bias=first.qkv_bias, qk_norm=first.qk_norm,
        init_values=first.init_values, dropout=encoder.dropout, attention_dropout=first.attention_dropout,
        drop_path_rate=blocks[-1].drop_path, layer_norm_epsilon=first.layer_norm_epsilon,
    )  # fmt: skip
    heads = parts["heads"]
    upgraded = VisionTransformer(
        config,
        heads[0].units if heads else None,
        include_top=bool(heads),
        input_normalization=input_normalization,
        name=model.name,
    )
    old = [encoder, *blocks, parts["norm"], *heads]
    new = [upgraded.patch_encoder, *upgraded.blocks, upgraded.norm, *upgraded.heads]
    for old_layer, new_layer in zip(old, new):
        new_layer.set_weights(old_layer.get_weights())
    return upgraded
