import keras
from keras import ops

from keras_vit.layers.conv_stem import ConvStem, stem_widths
from keras_vit.layers.patches import Patches
from keras_vit.layers.position_embeddings import sincos_2d
from keras_vit.layers.resnetv2 import ResNetV2Backbone, backbone_grid, backbone_stride, check_backbone
from keras_vit.checks import (
    DIST_TOKEN_INIT_STD,
    check_bool,
    check_channels_last,
    check_choice,
    check_dist_token_init_std,
    check_divisible,
    check_non_negative_int,
    check_positive_int,
    check_rate,
    check_stem_entry_width,
    to_pair,
)

PATCH_EMBEDDINGS = ("conv", "linear", "conv_stem", "resnetv2")
POSITION_EMBEDDINGS = ("learned", "sincos2d", "none")


@keras.saving.register_keras_serializable(package="keras_vit")
class PatchEncoder(keras.layers.Layer):
    """Images to a token sequence: patch projection, prefix tokens, position embeddings.

    `(B, H, W, C)` -> `(B, T + N, dim)` with `N = (H/ph) * (W/pw)` patch tokens after
    `T = num_prefix_tokens` prefix tokens: the CLS token (if `class_token`), then the
    distillation token (if `distillation_token`) or the `reg_tokens` register tokens (Darcet et
    al. 2024, DINOv2's `_reg` models; timm's `reg_token`), in timm's order. The CLS and register tokens start
    N(0, 1e-6), as timm's; the distillation token truncated N(0, `dist_token_init_std`), 0.02 in timm and
    DeiT. Images of another shape than the first call's, or that look channels-first `(B, C, H, W)`, are an
    error naming the shape and the `(B, H, W, C)` convention.

    The projection is either a strided `Conv2D` (`patch_embedding="conv"`) or `Patches`
    followed by a `Dense` (`"linear"`); the Dense kernel `(ph*pw*C, dim)` is the conv
    kernel `(ph, pw, C, dim)` reshaped, so both give the same output for the same weights.
    `"conv_stem"` replaces the patch projection by Xiao et al.'s convolutional stem
    (`ConvStem`: 3x3 stride-2 convolutions, BatchNorm, ReLU) and a 1x1 `Conv2D` to `dim`, for
    a square power-of-two patch size; it has no timm counterpart. `stem_entry_width > 0` starts
    that stem with a stride-1 3x3 convolution of that width (`ConvStem(entry_width=...)`).
    `"resnetv2"` is a hybrid ViT's (timm's `HybridEmbed`): the CNN `backbone` (`ResNetV2Backbone` with
    `backbone_layers` and `backbone_width`) computes a feature map, which a `patch_size` strided `Conv2D`
    projects to tokens; the patch size is then in feature-map cells, not pixels (`pixel_patch_size` gives both).

    Position embeddings: `"learned"` covers prefix and patch tokens, as timm's
    `pos_embed` `(1, T + N, dim)`, initialized N(0, 0.02), or the patch tokens only,
    `(1, N, dim)`, with `no_embed_class=True` (timm's `no_embed_class`: DeiT III, DINOv2 with
    registers; added before the prefix tokens are put in front); `"sincos2d"` is big_vision's
    fixed table, added to the patch tokens only; `"none"` adds nothing.
    `num_position_prefix_tokens` says how many prefix tokens have a row in the table.
    `use_bias=False` drops the patch projection's bias (timm's CLIP models, which normalize the
    tokens before the blocks instead).
    """

    def __init__(
        self,
        dim,
        patch_size,
        patch_embedding="conv",
        position_embedding="learned",
        class_token=True,
        distillation_token=False,
        dist_token_init_std=DIST_TOKEN_INIT_STD,
        dropout=0.0,
        stem_entry_width=0,
        reg_tokens=0,
        no_embed_class=False,
        use_bias=True,
        backbone_layers=(),
        backbone_width=64,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.dim = check_positive_int(dim, "dim")
        self.patch_size = to_pair(patch_size, "patch_size")
        self.patch_embedding = check_choice(patch_embedding, "patch_embedding", PATCH_EMBEDDINGS)
        if patch_embedding == "conv_stem":
            stem_widths(dim, patch_size)
        self.stem_entry_width = check_stem_entry_width(stem_entry_width, patch_embedding)
        self.position_embedding = check_choice(position_embedding, "position_embedding", POSITION_EMBEDDINGS)
        if position_embedding == "sincos2d" and dim % 4:
            raise ValueError(f"sincos2d position embeddings need dim divisible by 4; got dim={dim}.")
        self.class_token = bool(class_token)
        self.distillation_token = bool(distillation_token)
        self.dist_token_init_std = check_dist_token_init_std(dist_token_init_std, self.distillation_token)
        self.dropout = check_rate(dropout, "dropout")
        self.reg_tokens = check_non_negative_int(reg_tokens, "reg_tokens", zero_means="none")
        if self.reg_tokens and self.distillation_token:
            raise ValueError(
                f"reg_tokens={reg_tokens} with a distillation token: no model puts register tokens beside "
                "DeiT's distillation token; use one or the other."
            )
        self.no_embed_class = check_bool(no_embed_class, "no_embed_class")
        if self.no_embed_class and self.position_embedding != "learned":
            raise ValueError(
                "no_embed_class=True leaves the prefix tokens out of a learned position table; with "
                f"position_embedding={position_embedding!r} there is none to leave them out of."
            )
        self.use_bias = check_bool(use_bias, "use_bias")
        self.backbone_layers, self.backbone_width = check_backbone(backbone_layers, backbone_width)
        self.num_prefix_tokens = int(self.class_token) + int(self.distillation_token) + self.reg_tokens

    @property
    def num_position_prefix_tokens(self):
        """The prefix tokens with a row in the position table (before the patch rows): all of them for a
        learned table, none with `no_embed_class` or a fixed sincos2d table."""
        return self.num_prefix_tokens if self.position_embedding == "learned" and not self.no_embed_class else 0

    def build(self, input_shape):
        check_channels_last(input_shape, f"PatchEncoder {self.name!r}")
        _, height, width, channels = input_shape
        if height is None or width is None or channels is None:
            raise ValueError(f"PatchEncoder needs a static image size and channel count; got shape {input_shape}.")
        if self.patch_embedding == "resnetv2":
            self.backbone = ResNetV2Backbone(
                self.backbone_layers, self.backbone_width, dtype=self.dtype_policy, name="backbone"
            )
            self.backbone.build(input_shape)
            features_shape = self.backbone.compute_output_shape(input_shape)
            check_divisible(features_shape[1:3], self.patch_size)
            self.grid_size = (features_shape[1] // self.patch_size[0], features_shape[2] // self.patch_size[1])
        else:
            check_divisible((height, width), self.patch_size)
            self.grid_size = (height // self.patch_size[0], width // self.patch_size[1])
        self.image_shape = (height, width, channels)
        self.num_patches = self.grid_size[0] * self.grid_size[1]

        if self.patch_embedding in ("conv", "resnetv2"):
            self.projection = keras.layers.Conv2D(
                self.dim, self.patch_size, strides=self.patch_size, use_bias=self.use_bias, dtype=self.dtype_policy,
                name="projection",
            )  # fmt: skip
            self.projection.build(features_shape if self.patch_embedding == "resnetv2" else input_shape)
        elif self.patch_embedding == "conv_stem":
            self.stem = ConvStem(
                self.dim, self.patch_size, entry_width=self.stem_entry_width, dtype=self.dtype_policy, name="stem"
            )
            self.stem.build(input_shape)
            self.projection = keras.layers.Conv2D(
                self.dim, 1, use_bias=self.use_bias, dtype=self.dtype_policy, name="projection"
            )
            self.projection.build(self.stem.compute_output_shape(input_shape))
        else:
            self.patches = Patches(self.patch_size, dtype=self.dtype_policy, name="patches")
            self.projection = keras.layers.Dense(
                self.dim, use_bias=self.use_bias, dtype=self.dtype_policy, name="projection"
            )
            self.projection.build((None, self.num_patches, self.patch_size[0] * self.patch_size[1] * channels))

        # Made with or without a distillation token, and before the CLS token's: an unseeded initializer draws
        # its seed from the global random state, so any other order would change every model's initial weights.
        dist_token_init = keras.initializers.TruncatedNormal(stddev=self.dist_token_init_std)
        if self.class_token:
            self.cls_token = self.add_weight(
                shape=(1, 1, self.dim), initializer=keras.initializers.RandomNormal(stddev=1e-6), name="cls_token"
            )
        if self.distillation_token:
            self.dist_token = self.add_weight(shape=(1, 1, self.dim), initializer=dist_token_init, name="dist_token")
        if self.reg_tokens:  # timm's init, as the CLS token's
            self.reg_token = self.add_weight(
                shape=(1, self.reg_tokens, self.dim), initializer=keras.initializers.RandomNormal(stddev=1e-6),
                name="reg_token",
            )  # fmt: skip
        if self.position_embedding == "learned":
            self.position_embeddings = self.add_weight(
                shape=(1, self.num_position_prefix_tokens + self.num_patches, self.dim),
                initializer=keras.initializers.RandomNormal(stddev=0.02),
                name="position_embeddings",
            )
        elif self.position_embedding == "sincos2d":
            table = sincos_2d(self.grid_size, self.dim)[None]
            self.position_embeddings = self.add_weight(
                shape=table.shape,
                initializer=keras.initializers.Constant(table),
                trainable=False,
                name="position_embeddings",
            )
        self.dropout_layer = keras.layers.Dropout(self.dropout)

    def call(self, images, training=None):
        # In place of an InputSpec: the same check of the static shape (free at run time), with a message
        # that recognizes channels-first images.
        check_channels_last(images.shape, f"PatchEncoder {self.name!r}", self.image_shape)
        if self.patch_embedding == "conv":
            x = ops.reshape(self.projection(images), (-1, self.num_patches, self.dim))
        elif self.patch_embedding == "resnetv2":
            x = ops.reshape(self.projection(self.backbone(images)), (-1, self.num_patches, self.dim))
        elif self.patch_embedding == "conv_stem":
            x = ops.reshape(self.projection(self.stem(images, training=training)), (-1, self.num_patches, self.dim))
        else:
            x = self.projection(self.patches(images))
        if self.position_embedding == "sincos2d" or self.no_embed_class:  # patch rows only
            x = x + ops.cast(self.position_embeddings, x.dtype)
        # Broadcast each (1, k, dim) token over the batch by adding it to zeros shaped like one
        # patch column: this keeps the batch dimension dynamic without a shape lookup.
        batch_zeros = ops.zeros_like(x[:, :1, :])
        prefix = []
        if self.class_token:
            prefix.append(batch_zeros + ops.cast(self.cls_token, x.dtype))
        if self.distillation_token:
            prefix.append(batch_zeros + ops.cast(self.dist_token, x.dtype))
        if self.reg_tokens:
            prefix.append(batch_zeros + ops.cast(self.reg_token, x.dtype))  # (B, 1, dim) + (1, R, dim)
        if prefix:
            x = ops.concatenate(prefix + [x], axis=1)
        if self.position_embedding == "learned" and not self.no_embed_class:
            x = x + ops.cast(self.position_embeddings, x.dtype)
        return self.dropout_layer(x, training=training)

    @property
    def pixel_patch_size(self):
        """The `(h, w)` pixels one token covers: the patch size, times the backbone's stride for a hybrid."""
        stride = backbone_stride(self.backbone_layers) if self.patch_embedding == "resnetv2" else 1
        return (self.patch_size[0] * stride, self.patch_size[1] * stride)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        if self.patch_embedding == "resnetv2":
            height, width = backbone_grid((height, width), self.backbone_layers)
        num_patches = (height // self.patch_size[0]) * (width // self.patch_size[1])
        return (batch, self.num_prefix_tokens + num_patches, self.dim)

    def get_config(self):
        return {
            **super().get_config(),
            "dim": self.dim,
            "patch_size": self.patch_size,
            "patch_embedding": self.patch_embedding,
            "position_embedding": self.position_embedding,
            "class_token": self.class_token,
            "distillation_token": self.distillation_token,
            "dist_token_init_std": self.dist_token_init_std,
            "dropout": self.dropout,
            "stem_entry_width": self.stem_entry_width,
            "reg_tokens": self.reg_tokens,
            "no_embed_class": self.no_embed_class,
            "use_bias": self.use_bias,
            "backbone_layers": self.backbone_layers,
            "backbone_width": self.backbone_width,
        }
