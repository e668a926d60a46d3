"""Shared fixtures. The suite runs once per backend: set KERAS_BACKEND before starting pytest."""

import os
import pathlib
import tarfile

REPO = pathlib.Path(__file__).resolve().parents[1]

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Compiling, not running, is most of a test's time under JAX and TensorFlow: the suite builds hundreds of
# tiny models and runs each for a few steps. So the test processes (and the child processes they start,
# which inherit these) skip LLVM's optimisation of XLA's CPU code (the tests check results, not speed), and JAX
# keeps every compiled program on disk, so a program that another test already compiled (the same tiny
# model, the same step) is read back instead of compiled again. Users' runs keep XLA's defaults.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(REPO / ".pytest_cache" / "jax-compilation-cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

# A ViT small enough to build and run in well under a second on any backend.
TINY = dict(image_size=16, patch_size=4, dim=32, depth=2, num_heads=4, mlp_dim=64, channels=3)


BACKEND = keras.backend.backend()


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "one_backend(name): a test whose subject does not depend on the backend (a script's own flow, a "
        "killed run's files, a model's shapes) while the code under it is tested on every backend; it runs "
        "under `name` only (KERAS_VIT_TEST_ALL_BACKENDS=1 runs it under every backend)",
    )


def pytest_collection_modifyitems(config, items):
    # Recipes, crash-safety runs and the counts of the largest configs drive the same `train()`, layers and
    # savers that the rest of the suite tests under each backend; what they add (a script's own flow, the
    # files a killed run leaves, a 300M-parameter model's shapes) does not depend on the backend, so each
    # runs once, under one backend, to keep the three-backend suite short.
    if os.environ.get("KERAS_VIT_TEST_ALL_BACKENDS") == "1":
        return
    for item in items:
        marker = item.get_closest_marker("one_backend")
        if marker is not None and marker.args[0] != BACKEND:
            item.add_marker(pytest.mark.skip(reason=f"does not depend on the backend: runs under {marker.args[0]} only"))


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


CIFAR_CLASSES = ("airplane", "automobile", "bird")
CIFAR_PER_CLASS = 10  # the first 7 of each class go to train/, the next 3 to test/
CIFAR_TRAIN_PER_CLASS = 7


@pytest.fixture(scope="session")
def cifar_folder(data_dir, tmp_path_factory):
    """`root/train/<class>/*.jpg` (7 per class) and `root/test/<class>/*.jpg` (3 per class) for 3 CIFAR-10 classes.

    Reads the archive only up to the last member needed (the training files come first, by class).
    """
    root = tmp_path_factory.mktemp("cifar10-subset")
    taken = {name: 0 for name in CIFAR_CLASSES}
    with tarfile.open(data_dir / "cifar10-jpg.tar.gz") as archive:
        for member in archive:
            parts = pathlib.PurePosixPath(member.name).parts[-3:]  # train/<class>/NNNN.jpg
            if len(parts) != 3 or parts[0] != "train" or parts[1] not in taken or not member.isfile():
                continue
            name = parts[1]
            if taken[name] < CIFAR_PER_CLASS:
                split = "train" if taken[name] < CIFAR_TRAIN_PER_CLASS else "test"
                target = root / split / name / parts[2]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.extractfile(member).read())
                taken[name] += 1
            if all(count == CIFAR_PER_CLASS for count in taken.values()):
                break
    assert all(count == CIFAR_PER_CLASS for count in taken.values()), taken
    return root
