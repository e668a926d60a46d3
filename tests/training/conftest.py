import pytest

from tiny_training import NUM_TEST, NUM_TRAIN


@pytest.fixture(scope="session")
def tiny_idx_dir(data_dir, tmp_path_factory):
    """The first NUM_TRAIN / NUM_TEST images of the real Fashion-MNIST, as IDX files."""
    from keras_vit.data import write_fashion_mnist_subset

    folder = tmp_path_factory.mktemp("tiny-fashion-mnist")
    return write_fashion_mnist_subset(data_dir / "fashion-mnist", folder, NUM_TRAIN, NUM_TEST)
