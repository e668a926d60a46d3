import fnmatch
import pathlib
import tomllib

import numpy as np
import pytest

from keras_vit.data import load_default, load_fashion_mnist
from keras_vit.data.default import DEFAULT_DIR, TEST_PER_CLASS, TRAIN_PER_CLASS, first_per_class

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_shapes_and_class_balance():
    (x_train, y_train), (x_test, y_test) = load_default()
    assert x_train.shape == (12200, 28, 28, 1) and x_test.shape == (1000, 28, 28, 1)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y_train), [TRAIN_PER_CLASS] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [TEST_PER_CLASS] * 10)
    assert len(x_test) >= 1000


def test_at_most_5_mb_with_licence_and_readme():
    files = [path for path in DEFAULT_DIR.iterdir() if path.is_file()]
    assert sum(path.stat().st_size for path in files) <= 5_000_000
    licence = (DEFAULT_DIR / "LICENSE").read_text()
    assert "MIT" in licence and "Zalando SE" in licence
    readme = (DEFAULT_DIR / "README.md").read_text()
    assert f"first {TRAIN_PER_CLASS:,} images of that class" in readme and "first 100 images of each" in readme


def test_is_the_documented_subset_of_the_real_data(data_dir):
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(data_dir / "fashion-mnist")
    (dx_train, dy_train), (dx_test, dy_test) = load_default()
    train, test = first_per_class(y_train, TRAIN_PER_CLASS), first_per_class(y_test, TEST_PER_CLASS)
    np.testing.assert_array_equal(dx_train, x_train[train])
    np.testing.assert_array_equal(dy_train, y_train[train])
    np.testing.assert_array_equal(dx_test, x_test[test])
    np.testing.assert_array_equal(dy_test, y_test[test])
    assert train[-1] == 12842 and test[-1] == 1092  # the index ranges the README states


def test_first_per_class_needs_enough_examples():
    np.testing.assert_array_equal(first_per_class([1, 0, 1, 0, 0], 2, num_classes=2), [0, 1, 2, 3])
    with pytest.raises(ValueError, match="Class 1 has only 1 examples; 2 were asked for"):
        first_per_class([0, 0, 1], 2, num_classes=2)


def test_pyproject_ships_every_default_file_as_package_data():
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = package_data["keras_vit.data"]
    for path in DEFAULT_DIR.iterdir():
        relative = str(path.relative_to(DEFAULT_DIR.parent))
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative
