"""Attention weights of every block, read from the trained model's own layers."""

import keras
import numpy as np

from keras_vit.inspect.model_parts import check_images
from keras_vit.models.swin import SwinTransformer
from keras_vit.models.vit import check_vision_transformer


class _WithAttention(keras.layers.Layer):
    """Calls one `TransformerBlock` (the same object, so the same weights) asking for its attention.

    A wrapper rather than calling the block itself with `return_attention_scores=True` in the
    rebuilt graph: Keras' functional-graph check counts a layer's outputs from its first call
    (`op.output`), so a second call of the same block with two outputs is reported as disconnected.
    """

    def __init__(self, block, **kwargs):
        super().__init__(name=f"{block.name}_with_attention", dtype=block.dtype_policy, **kwargs)
        self.block = block

    def call(self, x, training=None):
        return self.block(x, training=training, return_attention_scores=True)

    def compute_output_spec(self, x, training=None):
        return self.block.compute_output_spec(x, return_attention_scores=True)


def attention_model(model):
    """A second functional model over the same layers (shared weights) that also returns attention.

    Rebuilds the graph of `model` with `keras.models.clone_model`, keeping every layer (no copy)
    and calling each `TransformerBlock` with `return_attention_scores=True`. The result maps images
    to `[weights_block_0, ..., weights_block_{L-1}, *outputs]`, each weight tensor
    `(B, heads, N, N)` and `outputs` the original model's outputs, flattened. `model` itself is
    untouched, so its default forward pass keeps the fused attention kernel. A `SwinTransformer`'s blocks give
    their windows' weights, `(B * windows, heads, N, N)` (see `keras_vit.inspect.windows`).
    """
    blocks = (model if isinstance(model, SwinTransformer) else check_vision_transformer(model, "Attention inspection")).blocks
    position = {id(block): index for index, block in enumerate(blocks)}
    captured = {}

    def call_layer(layer, *args, **kwargs):
        if id(layer) not in position:
            return layer(*args, **kwargs)
        outputs, weights = _WithAttention(layer)(*args, **kwargs)
        captured[position[id(layer)]] = weights
        return outputs

    clone = keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call_layer)
    weights = [captured[index] for index in range(len(blocks))]
    return keras.Model(clone.input, weights + keras.tree.flatten(clone.outputs), name=f"{model.name}_attention")


def run_in_batches(model, images, batch_size):
    """`model(images)` in chunks of `batch_size`, each output concatenated along the batch as numpy."""
    if not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int; got {batch_size!r}.")
    chunks = []
    for start in range(0, len(images), batch_size):
        outputs = keras.tree.flatten(model(images[start : start + batch_size], training=False))
        chunks.append([keras.ops.convert_to_numpy(output) for output in outputs])
    return [np.concatenate(parts, axis=0) for parts in zip(*chunks)]


def attention_weights(model, images, batch_size=32):
    """Softmax attention weights of every block: `(layers, B, heads, N, N)` float32.

    `images` `(B, H, W, C)`, raw pixels, must match the model's input; `N` counts the prefix tokens
    (CLS, distillation) first, then the patches in row-major order. Each row sums to 1.
    """
    images = check_images(model, images)
    extractor = attention_model(model)
    return np.stack(run_in_batches(extractor, images, batch_size)[: len(model.blocks)])
