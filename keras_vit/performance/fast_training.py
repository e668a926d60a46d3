import keras

from keras_vit.layers.pooling import PREFIX_TOKENS_READ
from keras_vit.models.parts import transformer_blocks_of


def fast_training_model(model):
    """A model over the same layers as `model` whose last block computes only the tokens it needs.

    With token pooling the head reads only the CLS token (and a distilled DeiT also the
    distillation token), so the last block's queries, attention output, MLP and the final norm
    are needed for those one or two tokens alone; its keys and values still come from every
    token. The returned model gives the same outputs and the same gradients for every weight
    in float32, with about one block's work less (1/depth of the FLOPs, minus the last block's
    key and value projections): train it, and `model` — which shares its layers and weights —
    is trained. Keep using `model` for inference, inspection, saving and export.

    A gap-pooled model reads every token, so it is returned as it is.

    Args:
        model: a model built by `keras_vit.build_vit` or `keras_vit.build_deit`.
    """
    last_block = transformer_blocks_of(model, "fast_training_model")[-1]
    names = {layer.name for layer in model.layers}
    if "pool" not in names:
        raise ValueError(
            f"Model {model.name!r} has no 'pool' layer: fast_training_model takes models built by "
            "keras_vit.build_vit or keras_vit.build_deit."
        )
    poolings = [model.get_layer(name).pooling for name in ("pool", "pool_dist") if name in names]
    if "gap" in poolings:
        return model
    query_tokens = max(PREFIX_TOKENS_READ[pooling] for pooling in poolings)

    def call(layer, *args, **kwargs):
        if layer is last_block:
            kwargs["query_tokens"] = query_tokens
        return layer(*args, **kwargs)

    # clone_function=identity shares the layers (and so the weights) instead of copying them.
    return keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call)
