import pytest

from tiny_training import NUM_TEST, NUM_TRAIN


@pytest.fixture(scope="session")
def tiny_idx_dir(data_dir, tmp_path_factory):
    """The first NUM_TRAIN / NUM_TEST images of the real Fashion-MNIST, as IDX files."""
    from keras_vit.data import load_fashion_mnist, write_idx

    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(data_dir / "fashion-mnist")
    folder = tmp_path_factory.mktemp("tiny-fashion-mnist")
    for name, array in {
        "train-images-idx3-ubyte.gz": x_train[:NUM_TRAIN],
        "train-labels-idx1-ubyte.gz": y_train[:NUM_TRAIN],
        "t10k-images-idx3-ubyte.gz": x_test[:NUM_TEST],
        "t10k-labels-idx1-ubyte.gz": y_test[:NUM_TEST],
    }.items():
        write_idx(folder / name, array.astype("uint8"))
    return folder
