import numpy as np

from keras_vit.inspect import token_map


def test_cls_row_over_the_patches():
    matrix = np.arange(2 * 6 * 6, dtype=float).reshape(2, 6, 6)  # CLS, then a 1x5 patch grid
    maps = token_map(matrix, (1, 5), num_prefix_tokens=1, class_token=True)
    np.testing.assert_array_equal(maps, matrix[:, 0, 1:].reshape(2, 1, 5))


def test_without_class_token_the_mean_patch_row():
    matrix = np.random.default_rng(0).uniform(size=(3, 4, 4))  # a 2x2 grid, no prefix tokens
    maps = token_map(matrix, (2, 2), num_prefix_tokens=0, class_token=False)
    np.testing.assert_allclose(maps, matrix.mean(axis=1).reshape(3, 2, 2))
