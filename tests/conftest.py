"""Shared fixtures. The suite runs once per backend: set KERAS_BACKEND before starting pytest."""

import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]

# A ViT small enough to build and run in well under a second on any backend.
TINY = dict(image_size=16, patch_size=4, dim=32, depth=2, num_heads=4, mlp_dim=64, channels=3)


@pytest.fixture(autouse=True)
def _fresh_session():
    keras.utils.set_random_seed(0)
    yield
    # free_memory=False: skip the gc.collect(), which costs ~0.4 s a test with TF, torch and transformers loaded.
    keras.backend.clear_session(free_memory=False)


@pytest.fixture
def tiny():
    return dict(TINY)


@pytest.fixture
def images():
    return np.random.default_rng(0).uniform(0, 1, (3, 16, 16, 3)).astype("float32")


@pytest.fixture
def pixels():
    """Raw pixels, as a model takes them: uint8 `(3, 16, 16, 3)`."""
    return np.random.default_rng(0).integers(0, 256, (3, 16, 16, 3)).astype("uint8")


def shared_data_dir():
    """Real datasets: $KERAS_VIT_DATA, else ../shared/data beside the repository."""
    path = pathlib.Path(os.environ.get("KERAS_VIT_DATA", REPO.parent / "shared" / "data"))
    if not path.is_dir():
        raise FileNotFoundError(
            f"Real test data not found at {path}; set KERAS_VIT_DATA to the folder holding "
            "fashion-mnist/ and cifar10-jpg.tar.gz."
        )
    return path


@pytest.fixture(scope="session")
def data_dir():
    return shared_data_dir()
