"""A Swin Transformer's attention, read from its windows: per-window weights, maps stitched back onto the feature map,
and the mean attention distance of every head of every stage."""

import numpy as np

from keras_vit.inspect.attention import attention_model, run_in_batches
from keras_vit.inspect.model_parts import check_images
from keras_vit.layers.windows import window_partition_numpy
from keras_vit.models.swin import check_swin


def window_attention_weights(model, images, batch_size=32):
    """The softmax weights of every block of the `SwinTransformer` `model`: a list, one
    `(B, windows, heads, N, N)` float32 array per block, windows in row-major order over the block's (cyclically
    shifted, padded) map, `N` the window's tokens in row-major order. Rows sum to 1."""
    images = check_images(check_swin(model, "Window attention inspection"), images)
    outputs = run_in_batches(attention_model(model), images, batch_size)[: len(model.blocks)]
    return [weights.reshape(len(images), -1, *weights.shape[1:]) for weights, _ in zip(outputs, model.blocks)]


def _to_map(values, block):
    """`(B, windows, N, ...)` per-window values -> `(B, H, W, ...)` on the block's own map: windows put back,
    the padding cropped and the cyclic shift undone (the inverse of the block's steps)."""
    (wh, ww), (hp, wp) = block.window, block.padded
    batch, rest = values.shape[0], values.shape[3:]
    grid = values.reshape(batch, hp // wh, wp // ww, wh, ww, *rest).swapaxes(2, 3).reshape(batch, hp, wp, *rest)
    grid = grid[:, : block.grid[0], : block.grid[1]]
    return np.roll(grid, shift=block.shift, axis=(1, 2))


def stitched_attention_maps(model, images, batch_size=32):
    """How much attention each token receives, per block and head, on the block's feature map: a list, one
    `(B, heads, H, W)` array per block, the mean over the queries of its window of the weight they give it
    (each window's maps sum to 1 per head), stitched from the windows back into place."""
    maps = []
    for weights, block in zip(window_attention_weights(model, images, batch_size), model.blocks):
        received = weights.mean(axis=-2)  # (B, windows, heads, N)
        maps.append(_to_map(np.moveaxis(received, 2, -1), block).transpose(0, 3, 1, 2))
    return maps


def _window_offsets(block, pixels):
    """`(windows, N, N)` pixel distances between the tokens of each window and `(windows, N)` whether a token is
    on the image (not padding): the tokens of a window are neighbours on the shifted map; pairs a shift would
    wrap around are masked, and so never weighted."""
    (wh, ww), (hp, wp) = block.window, block.padded
    rows, cols = np.meshgrid(np.arange(hp), np.arange(wp), indexing="ij")
    coords = np.stack([rows, cols, (rows < block.grid[0]) & (cols < block.grid[1])], axis=-1)[None]
    windows = window_partition_numpy(coords, (wh, ww))  # (windows, N, 3)
    dy = (windows[:, :, None, 0] - windows[:, None, :, 0]) * pixels[0]
    dx = (windows[:, :, None, 1] - windows[:, None, :, 1]) * pixels[1]
    return np.hypot(dy, dx), windows[..., 2].astype(bool)


def window_attention_distance(model, images, batch_size=32):
    """Mean attention distance in pixels (Dosovitskiy et al. 2021, Fig. 7) of a `SwinTransformer`: a list, one
    `(blocks, heads)` array per stage. For each query on the image, the attention-weighted mean distance to the
    keys of its window, over the keys on the image (padding re-normalized away), averaged over queries and
    images. A token of stage `i` covers `patch_size * 2**i` pixels; windows bound the distance a head can reach."""
    weights = window_attention_weights(model, images, batch_size)
    patch = model.config.patch_size
    patch = (patch, patch) if isinstance(patch, int) else tuple(patch)
    out = []
    for stage in range(len(model.config.depths)):
        start = sum(model.config.depths[:stage])
        pixels = (patch[0] * 2**stage, patch[1] * 2**stage)
        rows = []
        for block, block_weights in zip(model.stage_blocks(stage), weights[start:]):
            distances, on_image = _window_offsets(block, pixels)
            kept = block_weights.astype("float64") * on_image[None, :, None, None, :]
            mass = np.maximum(kept.sum(axis=-1), np.finfo("float64").tiny)
            per_query = (kept * distances[None, :, None]).sum(axis=-1) / mass  # (B, windows, heads, N)
            queries = np.broadcast_to(on_image[None, :, None, :], per_query.shape)
            rows.append((per_query * queries).sum(axis=(0, 1, 3)) / queries.sum(axis=(0, 1, 3)))
        out.append(np.stack(rows))
    return out
