"""Attention matrices to maps over the patch grid."""

import numpy as np


def token_map(matrix, num_prefix_tokens, grid_size):
    """`(..., T + N, T + N)` attention or rollout -> `(..., gh, gw)` over the patch keys.

    The row read is the CLS token's (row 0) when the model has prefix tokens; without any
    (a `gap`-pooled model) it is the mean of the patch rows, the attention each patch receives.
    """
    matrix = np.asarray(matrix)
    rows = matrix[..., 0, :] if num_prefix_tokens else matrix[..., :, :].mean(axis=-2)
    return rows[..., num_prefix_tokens:].reshape(matrix.shape[:-2] + tuple(grid_size))


def token_map_label(num_prefix_tokens):
    return "CLS attention" if num_prefix_tokens else "mean attention received"
