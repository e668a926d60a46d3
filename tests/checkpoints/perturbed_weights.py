"""Every weight of a model drawn at random, so no mapping mistake can hide behind zeros or ones.

A module of its own, not the folder's conftest: test files import it, and `conftest` is a name every test
folder's conftest.py shares.
"""

import numpy as np


def perturb(model, seed=0):
    """Draw every weight of `model` from N(0.05, 0.2) (seeded); returns the model."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        variable.assign(rng.normal(0.05, 0.2, size=variable.shape).astype(variable.dtype))
    return model
