"""Swin's windows: partition and reverse (`keras.ops`), and the constants a window block needs, computed once
in numpy when the block is built: the window and shift a feature grid gets, the relative position index, and
the shifted-window attention mask (timm's `swin_transformer.py`, which the names and rules follow)."""

import math

import numpy as np
from keras import ops

from keras_vit.checks import to_pair

# timm's (and the paper's) additive mask value between tokens of different regions of a shifted window.
MASK_VALUE = -100.0


def window_partition(x, window_size):
    """`(B, H, W, C)` -> `(B * nH * nW, wh * ww, C)`: windows in row-major order, batch outermost (timm's order).
    `H` and `W` must be multiples of the window."""
    wh, ww = window_size
    _, height, width, channels = x.shape
    x = ops.reshape(x, (-1, height // wh, wh, width // ww, ww, channels))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (-1, wh * ww, channels))


def window_reverse(windows, window_size, height, width):
    """The inverse of `window_partition`: `(B * nH * nW, wh * ww, C)` -> `(B, H, W, C)`."""
    wh, ww = window_size
    channels = windows.shape[-1]
    x = ops.reshape(windows, (-1, height // wh, width // ww, wh, ww, channels))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (-1, height, width, channels))


def roll(x, shift, axis):
    """`ops.roll` written as a split and a concatenation: TFLite has no roll op, and every exporter has these."""
    size = x.shape[axis]
    shift %= size
    if shift == 0:
        return x
    head, tail = ops.split(x, [size - shift], axis=axis)
    return ops.concatenate([tail, head], axis=axis)


def window_and_shift(grid, window_size, shifted):
    """`(window, shift)` pairs of a block on a `(h, w)` feature grid (timm's `_calc_window_shift`): along an axis
    no longer than the window, the window is the axis and there is no shift; else the window, and a shift of
    half of it in the shifted blocks (every second one)."""
    window_size = to_pair(window_size, "window_size")
    window = tuple(min(r, w) for r, w in zip(grid, window_size))
    shift = tuple(0 if r <= w or not shifted else w // 2 for r, w in zip(grid, window_size))
    return window, shift


def padded_grid(grid, window):
    """The grid padded at the bottom and right to whole windows (timm pads after the cyclic shift)."""
    return tuple(math.ceil(r / w) * w for r, w in zip(grid, window))


def relative_position_index(window):
    """`(wh*ww, wh*ww)` int32: the row of the `((2wh-1) * (2ww-1), heads)` bias table for each query, key pair
    (timm's `get_relative_position_index`)."""
    wh, ww = window
    coords = np.stack(np.meshgrid(np.arange(wh), np.arange(ww), indexing="ij")).reshape(2, -1)
    relative = (coords[:, :, None] - coords[:, None, :]).transpose(1, 2, 0)
    relative[:, :, 0] += wh - 1
    relative[:, :, 1] += ww - 1
    relative[:, :, 0] *= 2 * ww - 1
    return relative.sum(-1).astype("int32")


def region_map(grid, window, shift):
    """`(H, W)` int: which of the 3x3 regions of a cyclically shifted, padded grid each cell comes from. Cells of
    different regions were not neighbours before the shift (timm's `img_mask`)."""
    height, width = padded_grid(grid, window)
    regions = np.zeros((height, width), "int32")
    count = 0
    for rows in ((0, -window[0]), (-window[0], -shift[0]), (-shift[0], None)):
        for cols in ((0, -window[1]), (-window[1], -shift[1]), (-shift[1], None)):
            regions[slice(*rows), slice(*cols)] = count
            count += 1
    return regions


def shifted_window_mask(grid, window, shift):
    """`(num_windows, N, N)` float32 with `N = wh*ww`: 0 where query and key come from the same region of the
    shifted grid, `MASK_VALUE` where they do not; None without a shift."""
    if not any(shift):
        return None
    regions = region_map(grid, window, shift)
    windows = window_partition_numpy(regions[None, :, :, None], window)[..., 0]
    different = windows[:, None, :] != windows[:, :, None]
    return np.where(different, MASK_VALUE, 0.0).astype("float32")


def window_partition_numpy(x, window):
    """`window_partition` on a numpy array (for the constants)."""
    batch, height, width, channels = x.shape
    wh, ww = window
    x = x.reshape(batch, height // wh, wh, width // ww, ww, channels).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, wh * ww, channels)
