"""The validation split every source gets: held out of the training data by a seeded choice of indices,
disjoint from training and test data, the same for the same seed; a source's own validation split where it
has one; a flat image folder split into train, validation and test."""

import shutil

import numpy as np
import pytest
import tensorflow_datasets as tfds

from keras_vit.data import get_datasets, load_source
from keras_vit.data.splits import split_indices

NUM_TRAIN, NUM_TEST = 200, 50


def coded_arrays():
    """An arrays source whose every image says its index: train images 0..199, test images 200..249."""
    codes = np.arange(NUM_TRAIN + NUM_TEST)
    images = np.stack([codes // 256, codes % 256], axis=1).reshape(-1, 1, 2, 1).astype("uint8")
    labels = codes % 3
    return {
        "train": (images[:NUM_TRAIN], labels[:NUM_TRAIN]),
        "test": (images[NUM_TRAIN:], labels[NUM_TRAIN:]),
        "class_names": ["a", "b", "c"],
    }


def codes(dataset):
    """The index each image of a dataset of (image, label) or of (images, labels) batches says, in order."""
    images = [np.asarray(image).reshape(-1, 2) for image, _ in dataset]
    pairs = np.concatenate(images).astype(int)
    return (pairs[:, 0] * 256 + pairs[:, 1]).tolist()


def test_validation_split_is_held_out_of_training_disjoint_and_fixed_by_the_seed():
    def split(seed):
        train, validation, test, info = get_datasets(coded_arrays(), batch_size=7, validation_split=0.1, seed=seed)
        # Training batches are shuffled and drop the last partial batch: read the unbatched split instead.
        unbatched, held, _, _ = load_source(coded_arrays(), validation_split=0.1, seed=seed)
        return codes(unbatched), codes(validation), codes(test), codes(held), info

    train, validation, test, held, info = split(seed=0)
    assert (info["num_train"], info["num_validation"], info["num_test"]) == (180, 20, 50)
    assert validation == held == sorted(validation)  # in order, the same as load_source's
    assert len(set(validation)) == 20 and not set(validation) & set(train)
    assert sorted(train + validation) == list(range(NUM_TRAIN))  # every training image, once
    assert test == list(range(NUM_TRAIN, NUM_TRAIN + NUM_TEST))  # the test split is untouched
    again = split(seed=0)
    other = split(seed=1)
    assert again[:3] == (train, validation, test)
    assert other[1] != validation and other[2] == test


def test_split_indices_partition_and_round():
    kept, held = split_indices(10, 0.25, seed=3)
    assert len(held) == 2 and sorted(np.concatenate([kept, held]).tolist()) == list(range(10))  # round(2.5) = 2
    assert len(split_indices(10, 0.01, seed=0)[1]) == 1  # at least one held out
    assert len(split_indices(2, 0.9, seed=0)[0]) == 1  # at least one kept
    assert split_indices(10, 0.0, seed=0)[1].size == 0
    with pytest.raises(ValueError, match="Cannot hold out a fraction 0.5 of 1 example"):
        split_indices(1, 0.5, seed=0)


def test_no_validation_split():
    train, validation, test, info = get_datasets(coded_arrays(), batch_size=8, validation_split=0)
    assert validation is None and (info["num_train"], info["num_validation"]) == (NUM_TRAIN, 0)


def test_tfds_training_split_is_split_by_index():
    with tfds.testing.mock_data(num_examples=20):
        train, validation, test, info = load_source("tfds:mnist", validation_split=0.25, seed=0)
        whole, _, _, _ = load_source("tfds:mnist")
        pixels = lambda dataset: [image.tobytes() for image, _ in dataset.as_numpy_iterator()]  # noqa: E731
        train, validation, whole = pixels(train), pixels(validation), pixels(whole)
    assert (info["num_train"], info["num_validation"], len(train), len(validation)) == (15, 5, 15, 5)
    assert sorted(train + validation) == sorted(whole) and not set(train) & set(validation)


def test_tfds_own_validation_split_is_used(monkeypatch):
    from keras_vit.data import pipeline

    # Mocked data lists no splits; the prepared oxford_flowers102 has these three.
    monkeypatch.setattr(pipeline, "tfds_split_names", lambda name, data_dir: ["train", "validation", "test"])
    with tfds.testing.mock_data(num_examples=4):
        _, _, _, info = load_source("tfds:oxford_flowers102", image_size=8, validation_split=0.5)
        _, none, _, no_validation = load_source("tfds:oxford_flowers102", image_size=8, validation_split=0)
    # Its own 4 validation images, none taken from the 4 training images; validation_split 0: no validation.
    assert (info["num_train"], info["num_validation"], info["num_test"]) == (4, 4, 4)
    assert none is None and (no_validation["num_train"], no_validation["num_validation"]) == (4, 0)


def flatten(cifar_folder, root):
    """`root/<class>/*` holding every image of the split folder (30 in all, 10 per class)."""
    for split in ("train", "test"):
        for folder in (cifar_folder / split).iterdir():
            (root / folder.name).mkdir(parents=True, exist_ok=True)
            for image in folder.iterdir():
                shutil.copy(image, root / folder.name / image.name)
    return root


def test_flat_image_folder_is_split_into_train_validation_and_test(cifar_folder, tmp_path):
    root = flatten(cifar_folder, tmp_path / "flat")

    def split(seed, validation_split=0.2):
        *datasets, info = load_source("folder", root, validation_split=validation_split, test_split=0.2, seed=seed)
        pixels = [None if split is None else [image.tobytes() for image, _ in split.as_numpy_iterator()]
                  for split in datasets]  # fmt: skip
        return pixels, info

    (train, validation, test), info = split(seed=0)
    assert info["class_names"] == ["airplane", "automobile", "bird"] and info["image_shape"] == (32, 32, 3)
    # 6 of the 30 images are test, a fifth of the other 24 (5) validation, 19 train; no image in two splits.
    assert (info["num_train"], info["num_validation"], info["num_test"]) == (19, 5, 6)
    assert (len(train), len(validation), len(test)) == (19, 5, 6) and len(set(train + validation + test)) == 30
    # The test images are the same whatever the seed and the validation fraction; the validation ones follow the seed.
    (_, other_validation, other_test), _ = split(seed=1)
    assert other_test == test and other_validation != validation
    (no_validation_train, none, same_test), info = split(seed=0, validation_split=0)
    assert none is None and info["num_validation"] == 0 and same_test == test
    assert sorted(no_validation_train) == sorted(train + validation)


def test_folder_validation_subfolder_is_its_validation_split(cifar_folder, tmp_path):
    root = shutil.copytree(cifar_folder, tmp_path / "copy")
    shutil.copytree(root / "test", root / "validation")
    _, _, _, info = load_source("folder", root, validation_split=0.1)
    assert (info["num_train"], info["num_validation"], info["num_test"]) == (21, 9, 9)


def test_folder_with_train_but_no_test_is_an_error(cifar_folder, tmp_path):
    root = shutil.copytree(cifar_folder, tmp_path / "copy")
    shutil.rmtree(root / "test")
    expected = r"has train/ but no test/; expected data_dir/<class>/\*\.jpg\|png \(split here"
    with pytest.raises(ValueError, match=expected):
        load_source("folder", root)
