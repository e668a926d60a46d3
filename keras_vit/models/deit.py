import keras

from keras_vit.layers import TokenPooling
from keras_vit.models.vit import check_num_classes, encode, image_input, resolve_config, vit_from_config


def build_deit(name=None, *, num_classes, image_size=None, dropout=None, drop_path_rate=None, **overrides):
    """Build a DeiT (Touvron et al. 2021) as a functional `keras.Model`.

    A distilled config (`deit_*_distilled_*`, or `distillation_token=True`) gives a ViT with a
    distillation token beside the CLS token and two heads, `head` on the CLS token and
    `head_dist` on the distillation token. The model maps images `(B, H, W, C)` to the
    average of the two heads' logits `(B, num_classes)`, as the DeiT paper and timm do at
    inference; `distillation_heads(model)` gives both heads' logits for training.
    A config without a distillation token (`deit_tiny_patch16_224`, ...) is a plain ViT.

    Args: as `build_vit` (DeiT always pools the CLS token and has its heads).
    """
    check_num_classes(num_classes, include_top=True)
    config = resolve_config(name, image_size=image_size, dropout=dropout, drop_path_rate=drop_path_rate, **overrides)
    if not config.distillation_token:
        return vit_from_config(config, num_classes=num_classes, name=name or "deit")
    if config.pooling != "token" or not config.class_token:
        raise ValueError(
            f"A distilled DeiT pools its CLS and distillation tokens: it needs pooling='token' and "
            f"class_token=True; got pooling={config.pooling!r}, class_token={config.class_token}."
        )
    inputs = image_input(config)
    x = encode(inputs, config)
    head_dropout = keras.layers.Dropout(config.dropout, name="head_dropout")
    cls_token = TokenPooling("token", 2, name="pool")(x)
    dist_token = TokenPooling("distillation", 2, name="pool_dist")(x)
    cls_logits = keras.layers.Dense(num_classes, dtype="float32", name="head")(head_dropout(cls_token))
    dist_logits = keras.layers.Dense(num_classes, dtype="float32", name="head_dist")(head_dropout(dist_token))
    logits = keras.layers.Average(dtype="float32", name="logits")([cls_logits, dist_logits])
    return keras.Model(inputs, logits, name=name or "deit")


def distillation_heads(model):
    """A model over the same layers as a distilled DeiT giving `(cls_logits, dist_logits)`."""
    try:
        cls_logits, dist_logits = model.get_layer("head").output, model.get_layer("head_dist").output
    except ValueError as error:
        raise ValueError(
            f"Model {model.name!r} is not a distilled DeiT: it needs layers 'head' and 'head_dist' "
            "(build it with keras_vit.build_deit and a *_distilled_* config)."
        ) from error
    return keras.Model(model.inputs, [cls_logits, dist_logits], name=f"{model.name}_heads")
