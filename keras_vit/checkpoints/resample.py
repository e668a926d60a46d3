"""Bicubic resampling of position embeddings over the patch grid.

Written in numpy: it runs once, on weights, outside any graph, so there is nothing for a backend to
accelerate, and float64 keeps it exact (the same size is the identity, bit for bit). It is bicubic
with Keys' a = -0.75, half-pixel centres and clamped edges: what
`torch.nn.functional.interpolate(mode="bicubic", align_corners=False)` computes (without antialiasing).
"""

import numpy as np

_A = -0.75


def _cubic_weights(t):
    """Weights of the samples at offsets -1, 0, 1, 2 for fractional positions `t` in [0, 1)."""

    def near(x):  # |x| <= 1
        return ((_A + 2) * x - (_A + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((_A * x - 5 * _A) * x + 8 * _A) * x - 4 * _A

    return far(t + 1), near(t), near(1 - t), far(2 - t)


def bicubic_matrix(old, new):
    """`(new, old)` matrix that resamples `old` samples to `new` along one axis."""
    source = (np.arange(new) + 0.5) * (old / new) - 0.5
    base = np.floor(source)
    matrix = np.zeros((new, old))
    rows = np.arange(new)
    for offset, weight in zip(range(-1, 3), _cubic_weights(source - base)):
        np.add.at(matrix, (rows, np.clip(base + offset, 0, old - 1).astype(int)), weight)
    return matrix


def resample_grid(grid, size):
    """`(h, w, c)` -> `(size[0], size[1], c)`, bicubic; same dtype."""
    rows = bicubic_matrix(grid.shape[0], size[0])
    cols = bicubic_matrix(grid.shape[1], size[1])
    return np.einsum("ih,hwc,jw->ijc", rows, grid.astype("float64"), cols).astype(grid.dtype)


def resample_position_table(table, num_prefix_tokens, old_grid, new_grid):
    """`(1, T + old_h*old_w, dim)` -> `(1, T + new_h*new_w, dim)`: the `T` prefix rows kept as they
    are, the patch rows resampled as an `old_grid` image (row-major) to `new_grid`."""
    prefix, patches = table[:, :num_prefix_tokens], table[:, num_prefix_tokens:]
    if patches.shape[1] != old_grid[0] * old_grid[1]:
        raise ValueError(
            f"Position table of {table.shape[1]} rows does not hold {num_prefix_tokens} prefix tokens "
            f"and a {old_grid[0]}x{old_grid[1]} grid."
        )
    grid = patches[0].reshape(old_grid[0], old_grid[1], -1)
    resampled = resample_grid(grid, new_grid).reshape(1, new_grid[0] * new_grid[1], -1)
    return np.concatenate([prefix, resampled], axis=1)
