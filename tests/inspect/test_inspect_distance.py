import numpy as np
import pytest

from keras_vit.inspect import attention_distance, attention_weights, mean_attention_distance, patch_distances


def with_prefix(patch_attention, num_prefix_tokens, prefix_share=0.0):
    """Embed patch-to-patch attention `(..., N, N)` into `(..., T + N, T + N)`, giving CLS `prefix_share`."""
    n = patch_attention.shape[-1]
    full = np.zeros(patch_attention.shape[:-2] + (num_prefix_tokens + n,) * 2)
    full[..., num_prefix_tokens:, num_prefix_tokens:] = patch_attention * (1 - prefix_share)
    if num_prefix_tokens:
        full[..., num_prefix_tokens:, 0] = prefix_share
        full[..., :num_prefix_tokens, 0] = 1.0
    return full


def test_patch_distances_in_pixels():
    distances = patch_distances((2, 3), (4, 5))
    assert distances.shape == (6, 6)
    assert distances[0, 1] == 5 and distances[0, 3] == 4 and distances[0, 5] == pytest.approx(np.hypot(4, 10))


@pytest.mark.parametrize("num_prefix_tokens", [0, 1, 2])
def test_identity_attention_is_zero_distance(num_prefix_tokens):
    weights = with_prefix(np.broadcast_to(np.eye(9), (2, 3, 4, 9, 9)), num_prefix_tokens, prefix_share=0.3)
    np.testing.assert_allclose(attention_distance(weights, (3, 3), (4, 4), num_prefix_tokens), 0.0)


@pytest.mark.parametrize("num_prefix_tokens", [0, 1])
def test_uniform_attention_gives_the_analytic_mean(num_prefix_tokens):
    # 2x2 grid of 4-px patches: from any patch the others lie at 0, 4, 4 and 4*sqrt(2) px.
    uniform = np.full((1, 2, 3, 4, 4), 0.25)
    weights = with_prefix(uniform, num_prefix_tokens, prefix_share=0.5)
    np.testing.assert_allclose(attention_distance(weights, (2, 2), (4, 4), num_prefix_tokens), 2 + np.sqrt(2))


def test_neighbour_attention_gives_the_patch_width_and_height():
    # 3x3 grid of 2x5 (h x w) patches: head 0 attends to the horizontal neighbour, head 1 to the vertical one.
    rows, cols = np.divmod(np.arange(9), 3)
    weights = np.zeros((1, 1, 2, 9, 9))
    for query in range(9):
        weights[0, 0, 0, query, rows[query] * 3 + (cols[query] + 1 if cols[query] < 2 else 1)] = 1
        weights[0, 0, 1, query, (rows[query] + 1 if rows[query] < 2 else 1) * 3 + cols[query]] = 1
    np.testing.assert_allclose(attention_distance(weights, (3, 3), (2, 5), 0), [[5.0, 2.0]])


def test_model_distance(vit, images):
    distances = mean_attention_distance(vit, images)
    assert distances.shape == (2, 4)
    expected = attention_distance(attention_weights(vit, images), (4, 4), (4, 4), 2)
    np.testing.assert_allclose(distances, expected)
    assert np.all((distances > 0) & (distances < patch_distances((4, 4), (4, 4)).max()))


def test_mismatched_weights_are_an_error():
    with pytest.raises(ValueError, match="expected \\(layers, B, heads, 17, 17\\)"):
        attention_distance(np.ones((1, 1, 1, 16, 16)), (4, 4), (4, 4), 1)
