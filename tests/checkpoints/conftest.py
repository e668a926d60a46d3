"""Tiny models with every weight perturbed, so no mapping mistake can hide behind zeros or ones."""

import keras
import numpy as np
import pytest
from perturbed_weights import perturb

import keras_vit


def _weights_by_path(model):
    return {variable.path: keras.ops.convert_to_numpy(variable) for variable in model.weights}


def _assert_same_weights(model, other):
    ours, theirs = _weights_by_path(model), _weights_by_path(other)
    assert sorted(ours) == sorted(theirs)
    for path, value in ours.items():
        np.testing.assert_array_equal(value, theirs[path], err_msg=path)


@pytest.fixture
def make_vit(tiny):
    """`make_vit(**overrides)`: a perturbed tiny ViT (16x16 RGB, patch 4, dim 32, 2 blocks, 5 classes)."""

    def make(num_classes=5, **overrides):
        return perturb(keras_vit.build_vit(num_classes=num_classes, **{**tiny, **overrides}))

    return make


def _logits(model, images):
    return keras.ops.convert_to_numpy(model(images * 255.0, training=False))


@pytest.fixture
def logits():
    """`logits(model, images)`: the model's outputs as a numpy array for `images` in [0, 1], as the
    reference forward passes take them (the model takes raw pixels: `images * 255`, which it scales back).
    A plain call, not predict: JAX compiles an eager call's ops once per shape, which the tiny models here
    share, but predict's graph once per model."""
    return _logits


@pytest.fixture(name="perturb")
def perturb_fixture():
    """`perturb(model, seed=0)`: every weight drawn from N(0.05, 0.2); returns the model."""
    return perturb


@pytest.fixture
def assert_same_weights():
    """`assert_same_weights(a, b)`: the same variable paths with bit-identical values."""
    return _assert_same_weights
