"""Attention matrices to maps over the patch grid."""

import numpy as np


def token_map(matrix, grid_size, num_prefix_tokens, class_token):
    """`(..., T + N, T + N)` attention or rollout -> `(..., gh, gw)` over the `N` patch keys.

    With a class token, its row (row 0); without one (a `gap`-pooled model), the mean of the
    patch rows: the attention each patch receives.
    """
    matrix = np.asarray(matrix)
    rows = matrix[..., 0, :] if class_token else matrix[..., num_prefix_tokens:, :].mean(axis=-2)
    return rows[..., num_prefix_tokens:].reshape(matrix.shape[:-2] + tuple(grid_size))


def token_map_label(class_token):
    return "CLS attention" if class_token else "mean attention received"
