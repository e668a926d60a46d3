"""Inspecting a Swin Transformer: window attention stitched back onto the map, attention distance per stage."""

import numpy as np
import pytest

import keras_vit
from keras_vit.inspect import stitched_attention_maps, window_attention_distance, window_attention_weights

TINY_SWIN = dict(image_size=16, patch_size=2, embed_dim=16, depths=(2, 2), num_heads=(2, 4), window_size=4)


@pytest.fixture
def swin():
    return keras_vit.build_swin(num_classes=3, **TINY_SWIN)


def test_window_weights_maps_and_distances_have_each_blocks_shape(swin, pixels):
    weights = window_attention_weights(swin, pixels)
    maps = stitched_attention_maps(swin, pixels)
    distances = window_attention_distance(swin, pixels)

    assert [w.shape for w in weights] == [(3, 4, 2, 16, 16)] * 2 + [(3, 1, 4, 16, 16)] * 2
    assert [m.shape for m in maps] == [(3, 2, 8, 8)] * 2 + [(3, 4, 4, 4)] * 2
    # Each window's received attention sums to 1 per head: 4 windows on the 8x8 map, 1 on the 4x4 one.
    np.testing.assert_allclose([m.sum(axis=(2, 3)).mean() for m in maps], [4, 4, 1, 1], rtol=1e-5)
    assert [d.shape for d in distances] == [(2, 2), (2, 4)]
    # A 4x4 window of 2-pixel tokens (stage 0) reaches at most 6 * sqrt(2) pixels, of 4-pixel tokens 12 * sqrt(2).
    assert 0 < distances[0].max() <= 6 * 2**0.5 and 0 < distances[1].max() <= 12 * 2**0.5


def test_stitched_maps_undo_the_shift(swin, pixels):
    block = swin.blocks[1]  # shifted by (2, 2)
    weights = window_attention_weights(swin, pixels)[1]
    received = weights.mean(axis=-2)  # (B, windows, heads, N)

    maps = stitched_attention_maps(swin, pixels)[1]

    # The token at (0, 0) of the map was rolled to (6, 6) on the shifted map: window 3, cell (2, 2) of its 4x4.
    assert block.shift == (2, 2)
    np.testing.assert_allclose(maps[:, :, 0, 0], received[:, 3, :, 2 * 4 + 2], rtol=1e-6)


def test_window_inspection_refuses_a_vit(tiny, pixels):
    vit = keras_vit.build_vit(num_classes=3, **tiny)
    with pytest.raises(ValueError, match="needs a keras_vit SwinTransformer"):
        window_attention_weights(vit, pixels)
