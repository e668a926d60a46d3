"""Fashion-MNIST from the original gzipped IDX files, as float images in [0, 1].

A stop-gap reader for the export benchmark, recipe and tests; switch to `keras_vit.data`
once it lands.
"""

import gzip
import pathlib

import numpy as np

IDX_MAGIC = {2049: 1, 2051: 3}  # labels: (count,), images: (count, rows, cols)


def read_idx(path):
    """One gzipped IDX file -> uint8 array `(count,)` or `(count, rows, cols)`."""
    with gzip.open(path, "rb") as file:
        data = file.read()
    magic = int.from_bytes(data[:4], "big")
    if magic not in IDX_MAGIC:
        raise ValueError(f"{path} is not an IDX label or image file (magic {magic}; expected 2049 or 2051).")
    rank = IDX_MAGIC[magic]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(shape)


def load_fashion_mnist(data_dir, split="test", limit=None):
    """`(images (N, 28, 28, 1) float32 in [0, 1], labels (N,) int32)` of `split` ("train" or "test")."""
    prefix = {"train": "train", "test": "t10k"}[split]
    folder = pathlib.Path(data_dir) / "fashion-mnist"
    images = read_idx(folder / f"{prefix}-images-idx3-ubyte.gz")[:limit]
    labels = read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz")[:limit]
    return (images[..., None] / np.float32(255)).astype("float32"), labels.astype("int32")
