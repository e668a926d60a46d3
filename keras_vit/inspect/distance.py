"""Mean attention distance per head and layer (Dosovitskiy et al. 2021, Fig. 7; Raghu et al. 2021)."""

import numpy as np

from keras_vit.inspect.attention import attention_weights
from keras_vit.models.vit import check_vision_transformer


def patch_distances(grid_size, patch_size):
    """Euclidean pixel distance between the centres of every pair of patches: `(N, N)`, row-major."""
    rows, cols = np.divmod(np.arange(grid_size[0] * grid_size[1]), grid_size[1])
    dy = (rows[:, None] - rows[None, :]) * patch_size[0]
    dx = (cols[:, None] - cols[None, :]) * patch_size[1]
    return np.hypot(dy, dx)


def attention_distance(weights, grid_size, patch_size, num_prefix_tokens):
    """Mean attention distance in pixels: `(layers, B, heads, T + N, T + N)` -> `(layers, heads)`.

    For each patch query, the attention-weighted mean distance to the patch keys, averaged
    over queries and images. The `T = num_prefix_tokens` CLS / distillation tokens have no
    place on the image, so they are left out as queries and as keys, and each query's
    weights over the patch keys are re-normalized to sum to 1: the figure says how far a
    head looks when it looks at the image, whatever share of its attention goes to CLS.
    """
    weights = np.asarray(weights, dtype="float64")
    num_patches = grid_size[0] * grid_size[1]
    if weights.ndim != 5 or weights.shape[-2:] != (num_prefix_tokens + num_patches,) * 2:
        raise ValueError(
            f"Attention weights of shape {weights.shape} do not match {num_prefix_tokens} prefix tokens and a "
            f"{grid_size[0]}x{grid_size[1]} patch grid; expected (layers, B, heads, "
            f"{num_prefix_tokens + num_patches}, {num_prefix_tokens + num_patches})."
        )
    patch_weights = weights[..., num_prefix_tokens:, num_prefix_tokens:]
    mass = np.maximum(patch_weights.sum(axis=-1), np.finfo("float64").tiny)
    per_query = (patch_weights * patch_distances(grid_size, patch_size)).sum(axis=-1) / mass
    return per_query.mean(axis=(1, 3))


def mean_attention_distance(model, images, batch_size=32):
    """Mean attention distance of every head, in pixels: `(layers, heads)`.

    Uses the model's `PatchEncoder` for the patch size, grid and prefix tokens; see
    `attention_distance` for the definition.
    """
    encoder = check_vision_transformer(model, "Attention distance").patch_encoder
    weights = attention_weights(model, images, batch_size)
    return attention_distance(weights, encoder.grid_size, encoder.patch_size, encoder.num_prefix_tokens)
