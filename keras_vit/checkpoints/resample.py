"""Bicubic resampling of position embeddings over the patch grid, as timm resamples them.

Written in numpy: it runs once, on weights, outside any graph, so there is nothing for a backend to
accelerate, and float64 keeps it exact (the same size is the identity, bit for bit). Two forms of
`torch.nn.functional.interpolate(mode="bicubic", align_corners=False)`, each a `(new, old)` matrix
per axis:

- `antialias=True` (timm's `resample_abs_pos_embed` default): PIL's separable filter, Keys' cubic
  with a = -0.5 stretched by the scale when downsampling (so every old cell contributes), the
  weights of the cells inside the image renormalized to sum to 1 at the edges;
- `antialias=False`: Keys' cubic with a = -0.75 at half-pixel centres, edge cells repeated.
"""

import numpy as np


def _keys_cubic(x, a):
    """Keys' cubic convolution kernel at `x` (an array): support [-2, 2]."""
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))


def _plain_matrix(old, new):
    source = (np.arange(new) + 0.5) * (old / new) - 0.5
    base = np.floor(source)
    matrix = np.zeros((new, old))
    rows = np.arange(new)
    for offset in range(-1, 3):
        weight = _keys_cubic(source - (base + offset), -0.75)
        np.add.at(matrix, (rows, np.clip(base + offset, 0, old - 1).astype(int)), weight)
    return matrix


def _antialiased_matrix(old, new):
    # torch's `_compute_indices_min_size_weights_aa` (aten/src/ATen/native/cpu/UpSampleKernel.cpp), in float64.
    scale = old / new
    support, stretch = (2.0 * scale, 1.0 / scale) if scale >= 1.0 else (2.0, 1.0)
    matrix = np.zeros((new, old))
    for row in range(new):
        center = scale * (row + 0.5)
        first = max(int(center - support + 0.5), 0)  # int(): truncation toward zero, as the C++ cast
        last = min(int(center + support + 0.5), old)
        weights = _keys_cubic((np.arange(first, last) - center + 0.5) * stretch, -0.5)
        total = weights.sum()
        matrix[row, first:last] = weights / total if total else weights
    return matrix


def bicubic_matrix(old, new, antialias=True):
    """`(new, old)` matrix that resamples `old` samples to `new` along one axis."""
    return _antialiased_matrix(old, new) if antialias else _plain_matrix(old, new)


def resample_grid(grid, size, antialias=True):
    """`(h, w, c)` -> `(size[0], size[1], c)`, bicubic; same dtype."""
    rows = bicubic_matrix(grid.shape[0], size[0], antialias)
    cols = bicubic_matrix(grid.shape[1], size[1], antialias)
    return np.einsum("ih,hwc,jw->ijc", rows, grid.astype("float64"), cols).astype(grid.dtype)


def resample_position_table(table, num_prefix_tokens, old_grid, new_grid, antialias=True):
    """`(1, T + old_h*old_w, dim)` -> `(1, T + new_h*new_w, dim)`: the `T` prefix rows kept as they
    are, the patch rows resampled as an `old_grid` image (row-major) to `new_grid`; unchanged when the
    grids are equal."""
    prefix, patches = table[:, :num_prefix_tokens], table[:, num_prefix_tokens:]
    if patches.shape[1] != old_grid[0] * old_grid[1]:
        raise ValueError(
            f"Position table of {table.shape[1]} rows does not hold {num_prefix_tokens} prefix tokens "
            f"and a {old_grid[0]}x{old_grid[1]} grid."
        )
    if tuple(old_grid) == tuple(new_grid):
        return table
    grid = patches[0].reshape(old_grid[0], old_grid[1], -1)
    resampled = resample_grid(grid, new_grid, antialias).reshape(1, new_grid[0] * new_grid[1], -1)
    return np.concatenate([prefix, resampled], axis=1)
