"""TensorFlow Datasets by name, failing within seconds when the data is missing (TF-only by nature).

`tfds.load` fails slowly without network: its downloader retries each file 10 times with exponential
back-off (minutes of silence). Here missing data is an error that says how to supply it, and a download
first checks, with a short timeout, that the dataset's hosts are reachable.
"""

import contextlib
import difflib
import os
import socket
import urllib.parse

import numpy as np
import tensorflow as tf

from keras_vit.data.checks import check_labels

CONNECT_TIMEOUT_S = 3.0
DOWNLOAD_RETRIES = 2


def _how_to_supply(name, data_dir):
    where = data_dir or os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")
    return (
        f"To supply it: on a machine with network run `tfds build {name} --data_dir DIR` (or "
        f"`tfds.builder({name!r}, data_dir=DIR).download_and_prepare()`), copy DIR here and pass "
        f"data_dir=DIR; or pass download=True on a machine with network. Looked in: {where}."
    )


def _builder(name, data_dir):
    import tensorflow_datasets as tfds

    try:
        return tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        close = difflib.get_close_matches(name, tfds.list_builders(), n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else " See tfds.list_builders()."
        raise ValueError(f"Unknown tfds dataset {name!r}.{hint}") from None


def _check_reachable(name, builder, data_dir):
    """Raise at once, with instructions, when a host the dataset downloads from cannot be connected to."""
    hosts = set()
    for url in builder.url_infos or ():
        parsed = urllib.parse.urlparse(url)
        if parsed.hostname:
            hosts.add((parsed.hostname, parsed.port or (80 if parsed.scheme == "http" else 443)))
    for host, port in sorted(hosts):
        try:
            socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
        except OSError as error:
            raise ConnectionError(
                f"Cannot download tfds dataset {name!r}: {host}:{port} is unreachable ({error}). "
                + _how_to_supply(name, data_dir)
            ) from None


@contextlib.contextmanager
def _few_download_retries():
    from tensorflow_datasets.core.download import downloader

    saved, downloader.MAX_RETRIES = downloader.MAX_RETRIES, DOWNLOAD_RETRIES
    try:
        yield
    finally:
        downloader.MAX_RETRIES = saved


def _image_and_label(builder, name):
    keys = builder.info.supervised_keys
    if not keys or len(keys) != 2:
        raise ValueError(f"tfds dataset {name!r} has no (image, label) supervised keys; got {keys!r}.")
    image_key, label_key = keys
    return builder.info.features[image_key], builder.info.features[label_key]


def _labels(builder, split, image_key):
    """Every label of `split`, read without decoding an image (one pass over the records)."""
    import tensorflow_datasets as tfds

    records = builder.as_dataset(split=split, as_supervised=True, decoders={image_key: tfds.decode.SkipDecoding()})
    batches = records.map(lambda image, label: label).batch(1 << 16).as_numpy_iterator()
    return np.concatenate([np.zeros(0, np.int64), *batches])


def tfds_split_names(name, data_dir=None):
    """The split names of a prepared tfds dataset (empty when it is not prepared)."""
    return list(_builder(name, data_dir).info.splits)


def load_tfds(name, split, data_dir=None, download=False):
    """A tfds dataset split -> `(dataset, info)`.

    Args:
        name: any tfds name with image/label supervised keys (`cifar10`, `mnist`, `imagenette`, ...).
        split: a tfds split string (`"train"`, `"test"`, `"train[:10%]"`, ...).
        data_dir: where prepared tfds data lives (default: tfds's, `$TFDS_DATA_DIR` or ~/tensorflow_datasets).
        download: download and prepare the data if it is not there (needs network).

    Returns:
        dataset: unbatched `tf.data.Dataset` of `(uint8 image (H, W, C), int64 label)`.
        info: dict with `class_names`, `num_classes`, `image_shape` `(H, W, C)` (None for sizes that
            vary between images), `num_examples`.

    Raises:
        FileNotFoundError: the data is not prepared and `download` is False.
        ConnectionError: `download` is True but the dataset's hosts cannot be reached.
        ValueError: a label of the split is outside `[0, num_classes)` (tfds marks unlabeled examples
            -1, as in the test split of `imagenet2012`); to find out, every label is read once (images
            are not decoded).
    """
    builder = _builder(name, data_dir)
    image_feature, label_feature = _image_and_label(builder, name)
    image_key = builder.info.supervised_keys[0]
    if download:
        _check_reachable(name, builder, data_dir)
        try:
            with _few_download_retries():
                builder.download_and_prepare()
        except OSError as error:
            raise ConnectionError(f"Downloading tfds dataset {name!r} failed: {error}. " + _how_to_supply(name, data_dir))
    try:
        dataset = builder.as_dataset(split=split, as_supervised=True)
    except AssertionError:  # tfds's way of saying the data is not prepared
        if builder.is_prepared():
            raise
        raise FileNotFoundError(f"tfds dataset {name!r} is not prepared. " + _how_to_supply(name, data_dir)) from None
    class_names = list(getattr(label_feature, "names", None) or range(label_feature.num_classes))
    check_labels(_labels(builder, split, image_key), len(class_names), f"tfds dataset {name!r} split {split!r}")
    dataset = dataset.map(lambda image, label: (image, tf.cast(label, tf.int64)))
    info = dict(
        class_names=[str(n) for n in class_names], num_classes=len(class_names),
        image_shape=tuple(image_feature.shape), num_examples=int(dataset.cardinality()),
    )  # fmt: skip
    return dataset, info
