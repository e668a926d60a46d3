"""Fixtures for the data tests: a small real image folder unpacked from the CIFAR-10 JPEG archive."""

import pathlib
import tarfile

import keras
import pytest

CIFAR_CLASSES = ("airplane", "automobile", "bird")
PER_CLASS = 10  # the first 7 of each class go to train/, the next 3 to test/
TRAIN_PER_CLASS = 7


@pytest.fixture(autouse=True)
def _fresh_session():
    """The suite's fixture of that name, without the `gc.collect` (0.2 s of CPU per test) that frees model memory."""
    keras.utils.set_random_seed(0)
    yield
    keras.backend.clear_session(free_memory=False)


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
            if taken[name] < PER_CLASS:
                split = "train" if taken[name] < TRAIN_PER_CLASS else "test"
                target = root / split / name / parts[2]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.extractfile(member).read())
                taken[name] += 1
            if all(count == PER_CLASS for count in taken.values()):
                break
    assert all(count == PER_CLASS for count in taken.values()), taken
    return root
