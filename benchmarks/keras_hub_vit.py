"""keras-hub's `ViTBackbone` + a Dense head on its CLS token, with the dimensions of a keras_vit model.

Benchmark-only: keras-hub is in the `bench` extra, not a dependency of keras_vit.
"""

import keras
import numpy as np

from keras_vit.checks import to_pair

# Config fields keras-hub's ViT has no switch for, with the value it always uses.
HUB_FIXED = dict(
    pooling="token",
    class_token=True,
    distillation_token=False,
    position_embedding="learned",
    patch_embedding="conv",
    qkv_bias=True,
    qk_norm=False,
    init_values=None,
)


def build_hub_vit(config, num_classes):
    """keras-hub's ViT with `config`'s sizes: images `(B, H, W, C)` scaled to [0, 1] (keras-hub's
    preprocessor scales them outside the model) -> logits `(B, num_classes)`."""
    from keras_hub.models import ViTBackbone

    different = {field: getattr(config, field) for field, value in HUB_FIXED.items() if getattr(config, field) != value}
    if different:
        raise ValueError(f"keras-hub's ViT cannot express {different}; it always uses {HUB_FIXED}.")
    height, width = to_pair(config.image_size, "image_size")
    backbone = ViTBackbone(
        image_shape=(height, width, config.channels),
        patch_size=to_pair(config.patch_size, "patch_size"),
        num_layers=config.depth,
        num_heads=config.num_heads,
        hidden_dim=config.dim,
        mlp_dim=config.mlp_dim,
        dropout_rate=config.dropout,
        attention_dropout=config.attention_dropout,
        layer_norm_epsilon=config.layer_norm_epsilon,
        name="backbone",
    )
    inputs = keras.Input((height, width, config.channels), name="images")
    tokens = backbone(inputs)
    logits = keras.layers.Dense(num_classes, dtype="float32", name="head")(tokens[:, 0])
    return keras.Model(inputs, logits, name="keras_hub_vit")


def copy_weights(vit, hub):
    """Set the keras-hub model's weights to the keras_vit model's (same function, other layout)."""
    backbone = hub.get_layer("backbone")
    embedding = backbone.get_layer("vit_patching_and_embedding")
    encoder = backbone.get_layer("vit_encoder")
    patch_encoder = vit.patch_encoder
    embedding.patch_embedding.set_weights(patch_encoder.projection.get_weights())
    embedding.class_token.assign(keras.ops.convert_to_numpy(patch_encoder.cls_token))
    embedding.position_embedding.set_weights([keras.ops.convert_to_numpy(patch_encoder.position_embeddings)[0]])
    for block, hub_block in zip(vit.blocks, encoder.encoder_layers):
        dim, heads = block.attn.dim, block.num_heads
        hub_block.layer_norm_1.set_weights(block.norm1.get_weights())
        qkv_kernel, qkv_bias = block.attn.qkv.get_weights()
        # Our fused kernel's columns are (3, heads, head_dim); keras' MHA keeps one (dim, heads, head_dim) each.
        qkv_kernel = qkv_kernel.reshape(dim, 3, heads, dim // heads)
        qkv_bias = qkv_bias.reshape(3, heads, dim // heads)
        for part, dense in enumerate((hub_block.mha._query_dense, hub_block.mha._key_dense, hub_block.mha._value_dense)):
            dense.set_weights([qkv_kernel[:, part], qkv_bias[part]])
        proj_kernel, proj_bias = block.attn.proj.get_weights()
        hub_block.mha._output_dense.set_weights([proj_kernel.reshape(heads, dim // heads, dim), proj_bias])
        hub_block.layer_norm_2.set_weights(block.norm2.get_weights())
        hub_block.mlp.dense_1.set_weights(block.fc1.get_weights())
        hub_block.mlp.dense_2.set_weights(block.fc2.get_weights())
    encoder.layer_norm.set_weights(vit.norm.get_weights())
    hub.get_layer("head").set_weights(vit.head.get_weights())


def matched_models(name, num_classes):
    """`(config, vit, hub)`: keras_vit's model of config `name` and keras-hub's with the same
    dimensions, parameter count and weights."""
    import keras_vit
    from keras_vit.models.vit import resolve_config

    config = resolve_config(name)
    vit = keras_vit.build_vit(name, num_classes=num_classes)
    hub = build_hub_vit(config, num_classes)
    if vit.count_params() != hub.count_params():
        raise SystemExit(f"parameter counts differ: keras_vit {vit.count_params():,}, keras-hub {hub.count_params():,}")
    copy_weights(vit, hub)
    return config, vit, hub


def random_images(config, count, seed=0):
    """`count` random images of `config`'s size as raw pixels, float32 `(count, H, W, channels)` in [0, 255):
    what keras_vit's models take; keras-hub's takes them divided by 255."""
    height, width = to_pair(config.image_size, "image_size")
    return np.random.default_rng(seed).uniform(0, 255, (count, height, width, config.channels)).astype("float32")


def max_output_difference(vit, hub, config, batch=8, seed=0):
    """Max |keras_vit - keras-hub| over logits for random images (after `copy_weights`), each model fed
    its own input convention."""
    images = random_images(config, batch, seed)
    ours = keras.ops.convert_to_numpy(vit(images, training=False))
    theirs = keras.ops.convert_to_numpy(hub(images / 255.0, training=False))
    return float(np.abs(ours - theirs).max())
