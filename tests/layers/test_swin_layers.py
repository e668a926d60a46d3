"""Swin's windows, shifted-window mask, window attention and patch merging."""

import keras
import numpy as np
import pytest

from keras_vit.layers import PatchMerging, SwinBlock
from keras_vit.layers.windows import (
    MASK_VALUE,
    region_map,
    relative_position_index,
    shifted_window_mask,
    window_and_shift,
    window_partition,
    window_reverse,
)


def test_window_partition_cuts_row_major_windows_and_reverse_undoes_it():
    x = np.random.default_rng(0).normal(size=(2, 8, 12, 3)).astype("float32")

    windows = keras.ops.convert_to_numpy(window_partition(x, (4, 6)))

    assert windows.shape == (2 * 2 * 2, 24, 3)
    # The second window of the first image is rows 0-3, columns 6-11; the fifth is the second image's first.
    np.testing.assert_array_equal(windows[1], x[0, 0:4, 6:12].reshape(24, 3))
    np.testing.assert_array_equal(windows[4], x[1, 0:4, 0:6].reshape(24, 3))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(window_reverse(windows, (4, 6), 8, 12)), x)


def test_relative_position_index_gives_each_offset_one_row():
    index = relative_position_index((3, 4))

    offsets = {}
    for query in range(12):
        for key in range(12):
            offset = (query // 4 - key // 4, query % 4 - key % 4)
            assert offsets.setdefault(offset, index[query, key]) == index[query, key]
    assert len(offsets) == len(set(offsets.values())) == 5 * 7
    assert index.min() == 0 and index.max() == 5 * 7 - 1


def test_shifted_window_mask_separates_tokens_that_were_not_neighbours():
    grid, (window, shift) = (8, 8), window_and_shift((8, 8), 4, shifted=True)
    mask = shifted_window_mask(grid, window, shift)
    regions = region_map(grid, window, shift)

    assert (window, shift) == ((4, 4), (2, 2)) and mask.shape == (4, 16, 16)
    np.testing.assert_array_equal(mask[0], 0.0)  # the top-left window lies in one region
    last = regions[4:, 4:].reshape(-1)  # the bottom-right window mixes the wrapped-around corners
    np.testing.assert_array_equal(mask[3] == MASK_VALUE, last[:, None] != last[None, :])
    assert len(set(last)) == 4
    assert shifted_window_mask(grid, *window_and_shift(grid, 4, shifted=False)) is None


def test_no_token_attends_across_a_shifted_boundary():
    block = SwinBlock(2, window_size=4, shifted=True)
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 8)).astype("float32")

    _, weights = block(x, return_attention_scores=True)

    weights = keras.ops.convert_to_numpy(weights).reshape(2, 4, 2, 16, 16)
    across = shifted_window_mask((8, 8), (4, 4), (2, 2)) == MASK_VALUE  # (windows, queries, keys)
    assert across.sum() > 0
    blocked = weights.transpose(0, 2, 1, 3, 4)[:, :, across]  # (B, heads, masked pairs)
    assert blocked.max() < 1e-30
    assert weights.transpose(0, 2, 1, 3, 4)[:, :, ~across].min() > 1e-6
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)


def test_window_no_larger_than_the_map_is_the_map_and_unshifted():
    assert window_and_shift((7, 14), 7, shifted=True) == ((7, 7), (0, 3))
    assert window_and_shift((4, 4), 7, shifted=True) == ((4, 4), (0, 0))


def test_patch_merging_concatenates_neighbours_in_timms_order():
    layer = PatchMerging(5)
    x = np.random.default_rng(0).normal(size=(1, 4, 6, 3)).astype("float32")
    layer.build(x.shape)
    layer.norm.set_weights([np.ones(12, "float32"), np.zeros(12, "float32")])
    kernel = np.random.default_rng(1).normal(size=(12, 5)).astype("float32")
    layer.reduction.set_weights([kernel])

    out = keras.ops.convert_to_numpy(layer(x))

    merged = np.concatenate([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], axis=-1)
    normalized = (merged - merged.mean(-1, keepdims=True)) / np.sqrt(merged.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(out, normalized @ kernel, atol=1e-4)


def test_patch_merging_refuses_an_odd_map():
    with pytest.raises(ValueError, match="even height and width; got 7x8"):
        PatchMerging(4).build((None, 7, 8, 2))
