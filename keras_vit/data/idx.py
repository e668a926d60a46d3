"""IDX files, the MNIST / Fashion-MNIST format: read (checked) and write, raw or `.gz` / `.xz` compressed.

An IDX file is a big-endian header, then uint8 data: magic 2051 then (count, rows, cols) for images,
magic 2049 then (count,) for labels.
"""

import gzip
import lzma
import pathlib
import struct

import numpy as np

from keras_vit.data.checks import check_labels

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
FASHION_MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
_OPENERS = {".gz": gzip.open, ".xz": lzma.open}


def _read_bytes(path):
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file not found: {path}")
    try:
        with _OPENERS.get(path.suffix, open)(path, "rb") as file:
            return file.read()
    except (OSError, EOFError, lzma.LZMAError) as error:
        raise ValueError(f"Cannot read IDX file {path}: {error}") from error


def _read_idx(path, magic, what):
    """The dims and the uint8 payload of one IDX file, after checking its magic number and size."""
    data = _read_bytes(path)
    ndim = 3 if magic == IMAGES_MAGIC else 1
    header_size = 4 * (1 + ndim)
    found = struct.unpack(">I", data[:4])[0] if len(data) >= 4 else None
    if found != magic:
        raise ValueError(
            f"IDX {what} file {path} has magic number {found}; expected {magic} "
            f"({IMAGES_MAGIC} for images, {LABELS_MAGIC} for labels)."
        )
    if len(data) < header_size:
        raise ValueError(f"IDX {what} file {path} is {len(data)} bytes, shorter than its {header_size}-byte header.")
    dims = struct.unpack(f">{ndim}I", data[4:header_size])
    expected = int(np.prod(dims)) + header_size
    if len(data) != expected:
        raise ValueError(
            f"IDX {what} file {path}: header says dims {tuple(dims)}, i.e. {expected} bytes, "
            f"but the file holds {len(data)} bytes."
        )
    return dims, np.frombuffer(data, np.uint8, offset=header_size)


def load_idx(images_path, labels_path=None):
    """Read IDX images (and labels) -> `(images uint8 (N, H, W, 1), labels int64 (N,) or None)`.

    Files ending in `.gz` or `.xz` are decompressed; any other name is read raw. Raises `ValueError`
    naming the file on a wrong magic number, a size that disagrees with the header, or image and
    label counts that differ.
    """
    (count, rows, cols), pixels = _read_idx(images_path, IMAGES_MAGIC, "images")
    images = pixels.reshape(count, rows, cols, 1)
    if labels_path is None:
        return images, None
    (num_labels,), labels = _read_idx(labels_path, LABELS_MAGIC, "labels")
    if num_labels != count:
        raise ValueError(f"{images_path} holds {count} images but {labels_path} holds {num_labels} labels.")
    return images, labels.astype(np.int64)


def write_idx(path, array):
    """Write a uint8 array `(N, H, W)` / `(N, H, W, 1)` (images) or `(N,)` (labels) as IDX, compressed by suffix."""
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"IDX holds uint8 data; got dtype {array.dtype}.")
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (1, 3):
        raise ValueError(f"IDX holds images (N, H, W) or labels (N,); got shape {array.shape}.")
    magic = IMAGES_MAGIC if array.ndim == 3 else LABELS_MAGIC
    data = struct.pack(f">{1 + array.ndim}I", magic, *array.shape) + array.tobytes()
    path = pathlib.Path(path)
    if path.suffix == ".xz":
        data = lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)
    elif path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path


def _find(directory, name):
    for candidate in (directory / f"{name}.gz", directory / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{directory} has no {name}.gz (or raw {name}); a Fashion-MNIST folder holds "
        f"{', '.join(f'{n}.gz' for n in FASHION_MNIST_FILES.values())}."
    )


def load_fashion_mnist(directory):
    """The four standard Fashion-MNIST (or MNIST) IDX files in `directory` -> `((x_train, y_train), (x_test, y_test))`.

    Images are uint8 `(N, 28, 28, 1)`, labels int64 `(N,)` in 0..9 (any other label is an error naming
    its file).
    """
    directory = pathlib.Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"Fashion-MNIST directory not found: {directory}")
    return load_fashion_mnist_files({key: _find(directory, name) for key, name in FASHION_MNIST_FILES.items()})


def load_fashion_mnist_files(paths):
    """The four IDX files `paths` (keyed like `FASHION_MNIST_FILES`) -> `((x_train, y_train), (x_test, y_test))`;
    a label outside the 10 classes is an error naming its file."""
    splits = []
    for images, labels in (("x_train", "y_train"), ("x_test", "y_test")):
        x, y = load_idx(paths[images], paths[labels])
        splits.append((x, check_labels(y, len(FASHION_MNIST_CLASSES), f"IDX labels file {paths[labels]}")))
    return tuple(splits)


def fashion_mnist_split(directory, split="test", limit=None):
    """The first `limit` images of one split of `load_fashion_mnist(directory)`: raw pixels, uint8
    `(N, 28, 28, 1)`, with int32 labels `(N,)` — model inputs without tf.data."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}.")
    train, test = load_fashion_mnist(directory)
    images, labels = train if split == "train" else test
    return images[:limit], labels[:limit].astype("int32")


def write_fashion_mnist_subset(directory, folder, num_train=None, num_test=None):
    """The first `num_train` training and `num_test` test images of the IDX files in `directory`
    (None: all), written as the four gzipped IDX files into `folder`; returns `folder`."""
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(directory)
    arrays = dict(
        x_train=x_train[:num_train], y_train=y_train[:num_train], x_test=x_test[:num_test], y_test=y_test[:num_test]
    )
    folder = pathlib.Path(folder)
    for key, name in FASHION_MNIST_FILES.items():
        write_idx(folder / f"{name}.gz", arrays[key].astype("uint8"))
    return folder
