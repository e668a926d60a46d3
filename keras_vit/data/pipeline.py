"""`get_datasets`: any source -> batched, shuffled, augmented tf.data train sets and held-out validation and
test sets (TF-only by nature).

The datasets feed `model.fit` under every Keras backend: Keras reads tf.data on TensorFlow, JAX and PyTorch.
"""

import math
import pathlib

import numpy as np
import tensorflow as tf

from keras_vit.data.augment import batch_augmenter, image_augmenter, one_hot
from keras_vit.data.augment_config import AugmentConfig
from keras_vit.data.checks import check_labels, check_pixel_values
from keras_vit.data.default import load_default
from keras_vit.data.idx import FASHION_MNIST_CLASSES, load_fashion_mnist
from keras_vit.data.image_folder import resize_uint8, scan_image_folder
from keras_vit.data.splits import TEST_SPLIT_SEED, split_indices, take
from keras_vit.data.tfds_source import load_tfds, tfds_split_names
from keras_vit.checks import (
    check_label_smoothing,
    check_positive_int,
    check_test_split,
    check_validation_split,
    to_pair,
)

SOURCES = ("default", "fashion_mnist_idx", "folder", "tfds:<name>", "a dict of arrays")
ARRAY_KEYS = ("train", "test", "class_names")
# Decoded folder / tfds images are cached in memory (as uint8) when they take at most this much.
CACHE_LIMIT_BYTES = 2 * 1024**3
FOLDER_SPLITS = ("train", "validation", "test")
FOLDER_LAYOUT = (
    "data_dir/<class>/*.jpg|png (split here by test_split and validation_split), or data_dir/train/<class>/*, "
    "data_dir/test/<class>/* and optionally data_dir/validation/<class>/*"
)


def _array_split(split, arrays, num_classes):
    """`(images, labels)` of one split of an arrays source, checked: shapes, labels, pixel values."""
    source = f"The arrays source's {split!r} split"
    if not (isinstance(arrays, (tuple, list)) and len(arrays) == 2):
        raise ValueError(f"{source} must be a pair (images, labels); got {type(arrays).__name__}.")
    images, labels = np.asarray(arrays[0]), np.asarray(arrays[1])
    if images.ndim != 4 or labels.ndim != 1 or len(images) != len(labels) or not len(images):
        raise ValueError(f"{source} must be images (N, H, W, C) and labels (N,), N > 0; got shapes {images.shape} "
                         f"and {labels.shape}.")  # fmt: skip
    check_pixel_values(images, f"{source} (images)")
    return images, check_labels(labels, num_classes, f"{source} (labels)").astype(np.int64)


def _from_array_source(source):
    """An arrays source: `{"train": (images, labels), "test": (images, labels), "class_names": [...]}`."""
    if sorted(source) != sorted(ARRAY_KEYS):
        raise ValueError(f"An arrays source is a dict with keys {', '.join(ARRAY_KEYS)}; got keys {sorted(source)}.")
    class_names = [str(name) for name in source["class_names"]]
    train, test = (_array_split(split, source[split], len(class_names)) for split in ("train", "test"))
    if train[0].shape[1:] != test[0].shape[1:]:
        raise ValueError(f"The arrays source's train images are {train[0].shape[1:]} but its test images "
                         f"{test[0].shape[1:]}; both splits need the same (H, W, C).")  # fmt: skip
    return train, test, class_names


def _from_arrays(train, test, class_names, validation_split, seed):
    """Datasets of arrays `train` and `test` (each `(images, labels)`), `validation_split` of train held out."""
    kept, held = split_indices(len(train[0]), validation_split, seed)
    validation = None
    if len(held):
        validation = tuple(part[held] for part in train)
        train = tuple(part[kept] for part in train)
    info = _info(list(class_names), train[0].shape[1:], len(train[0]), len(held), len(test[0]))
    train, validation, test = (None if arrays is None else tf.data.Dataset.from_tensor_slices(arrays)
                               for arrays in (train, validation, test))  # fmt: skip
    return train, validation, test, info


def _info(class_names, image_shape, num_train, num_validation, num_test):
    return dict(
        class_names=class_names, image_shape=image_shape, num_train=num_train, num_validation=num_validation,
        num_test=num_test,
    )  # fmt: skip


def _require_dir(source, data_dir, layout):
    if data_dir is None:
        raise ValueError(f"source={source!r} needs data_dir: {layout}.")
    data_dir = pathlib.Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data_dir for source={source!r} not found: {data_dir} (expected {layout}).")
    return data_dir


def _split_dataset(dataset, count, validation_split, seed):
    """`(train, validation, num_validation)`: `validation_split` of `dataset`'s `count` examples held out."""
    kept, held = split_indices(count, validation_split, seed)
    if not len(held):
        return dataset, None, 0
    return take(dataset, kept, count), take(dataset, held, count), len(held)


def _tfds_sources(name, data_dir, validation_split, seed):
    splits = tfds_split_names(name, data_dir)
    test_split = "validation" if splits and "test" not in splits and "validation" in splits else "test"
    if splits and test_split not in splits:
        raise ValueError(f"tfds dataset {name!r} has neither a 'test' nor a 'validation' split; it has {splits}.")
    train, train_info = load_tfds(name, "train", data_dir)
    test, test_info = load_tfds(name, test_split, data_dir)
    count = train_info["num_examples"]
    if validation_split and test_split == "test" and "validation" in splits:  # the dataset's own
        validation, validation_info = load_tfds(name, "validation", data_dir)
        num_validation = validation_info["num_examples"]
    else:
        train, validation, num_validation = _split_dataset(train, count, validation_split, seed)
        count -= num_validation
    info = _info(train_info["class_names"], train_info["image_shape"], count, num_validation, test_info["num_examples"])
    return train, validation, test, info


def _in_random_order(indices, seed):
    """`indices` permuted with `seed`. An image folder lists its files class by class; a shuffle buffer
    smaller than the training set (10,000 by default, against 45,000 CIFAR-10 images) would then serve
    batches of one or two classes, and the model would learn the order instead of the images. So training
    files are read in a seeded random order, as tfds reads its shuffled files, and the buffer reshuffles
    that order each epoch."""
    return np.random.default_rng(seed).permutation(indices)


def _folder_sources(root, size, validation_split, test_split, seed):
    """A flat folder (`root/<class>/`) split into test, validation and train here; or `root/train/`,
    `root/test/` and, used when `validation_split` > 0, `root/validation/` (else held out of train)."""
    present = [name for name in FOLDER_SPLITS if (root / name).is_dir()]
    if not present:
        folder = scan_image_folder(root, size)
        rest, test = split_indices(len(folder.files), test_split, TEST_SPLIT_SEED)
        kept, held = split_indices(len(rest), validation_split, seed)
        train, validation = _in_random_order(rest[kept], seed), (rest[held] if len(held) else None)
        datasets = [None if indices is None else folder.dataset(indices) for indices in (train, validation, test)]
        counts = [0 if indices is None else len(indices) for indices in (train, validation, test)]
        return (*datasets, _info(folder.class_names, folder.image_shape, *counts))
    missing = [name for name in ("train", "test") if name not in present]
    if missing:
        raise ValueError(f"{root} has {', '.join(name + '/' for name in present)} but no {' or '.join(missing)}/; "
                         f"expected {FOLDER_LAYOUT}.")  # fmt: skip
    train = scan_image_folder(root / "train", size)
    like_train = dict(channels=train.image_shape[2], class_names=train.class_names)
    test = scan_image_folder(root / "test", size, **like_train)
    if validation_split and "validation" in present:
        validation = scan_image_folder(root / "validation", size, **like_train)
        counts = (len(train.files), len(validation.files), len(test.files))
        info = _info(train.class_names, train.image_shape, *counts)
        return train.dataset(_in_random_order(len(train.files), seed)), validation.dataset(), test.dataset(), info
    kept, held = split_indices(len(train.files), validation_split, seed)
    validation = train.dataset(held) if len(held) else None
    info = _info(train.class_names, train.image_shape, len(kept), len(held), len(test.files))
    return train.dataset(_in_random_order(kept, seed)), validation, test.dataset(), info


def _load(source, data_dir, size, validation_split, test_split, seed):
    if isinstance(source, dict):
        return _from_arrays(*_from_array_source(source), validation_split, seed)
    if source == "default":
        return _from_arrays(*load_default(), FASHION_MNIST_CLASSES, validation_split, seed)
    if source == "fashion_mnist_idx":
        directory = _require_dir(source, data_dir, "a folder with the four Fashion-MNIST IDX .gz files")
        return _from_arrays(*load_fashion_mnist(directory), FASHION_MNIST_CLASSES, validation_split, seed)
    if source == "folder":
        root = _require_dir(source, data_dir, FOLDER_LAYOUT)
        return _folder_sources(root, size, validation_split, test_split, seed)
    if isinstance(source, str) and source.startswith("tfds:") and source[5:]:
        return _tfds_sources(source[5:], data_dir, validation_split, seed)
    raise ValueError(f"Unknown data source {source!r}; valid sources: {', '.join(SOURCES)}.")


def _resize(dataset, size):
    if dataset is None:
        return None
    return dataset.map(lambda image, label: (resize_uint8(image, size), label), num_parallel_calls=tf.data.AUTOTUNE)


def load_source(source, data_dir=None, image_size=None, *, validation_split=0.0, test_split=0.2, seed=0):
    """Unbatched `(train, validation, test, info)` of `(uint8 image (H, W, C), int64 label)` at `image_size`
    if given; `validation` is None when there is no validation split (`validation_split` 0).

    `validation_split` (in [0, 1)) of the training data is held out as the validation split, a random
    choice of examples drawn with `seed` (`keras_vit.data.splits`), or, when the source has its own (a tfds
    dataset with a "validation" split beside "test", a folder's `validation/`), that split. `test_split`
    (in (0, 1)) is the test fraction of a flat image folder (`data_dir/<class>/*`), the same images
    whatever the seed; `validation_split` is then a fraction of what is left. The splits are disjoint.

    `info` has `class_names`, `image_shape` `(H, W, C)`, `num_train`, `num_validation`, `num_test`.
    """
    check_validation_split(validation_split)
    check_test_split(test_split)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int; got {seed!r}.")
    size = None if image_size is None else to_pair(image_size, "image_size")
    *splits, info = _load(source, data_dir, size, validation_split, test_split, seed)
    shape = tuple(info["image_shape"])
    if size is not None and size != shape[:2]:
        splits = [_resize(split, size) for split in splits]
        info["image_shape"] = (*size, shape[2])
    elif None in shape:
        raise ValueError(f"Data source {source!r} has images of varying size {shape}; pass image_size.")
    return (*splits, info)


def _maybe_cache(dataset, source, count, shape):
    in_memory = isinstance(source, dict) or source in ("default", "fashion_mnist_idx")  # numpy arrays in memory
    return dataset if in_memory or count * math.prod(shape) > CACHE_LIMIT_BYTES else dataset.cache()


def _to_float(image, label):
    return tf.cast(image, tf.float32), label


def get_datasets(
    source="default",
    *,
    batch_size=128,
    image_size=None,
    augment=None,
    data_dir=None,
    validation_split=0.1,
    test_split=0.2,
    seed=0,
    shuffle_buffer=10_000,
    label_smoothing=0.0,
):
    """Batched train, validation and test `tf.data.Dataset`s ready for `model.fit`, and what they hold.

    Args:
        source: `"default"` (the embedded Fashion-MNIST subset), `"fashion_mnist_idx"` (the four IDX
            files in `data_dir`), `"folder"` (images in `data_dir/<class>/`, split here; or in
            `data_dir/train/<class>/`, `data_dir/test/<class>/` and optionally `data_dir/validation/<class>/`),
            `"tfds:<name>"` (prepared TensorFlow Datasets data, in `data_dir` if given; the test split is
            "test", or "validation" when there is no "test"), or arrays in memory:
            `{"train": (images, labels), "test": (images, labels), "class_names": [...]}` with images
            `(N, H, W, C)` of raw pixels (uint8, or float in [0, 255]) and labels `(N,)`.
            Checked at load time, with errors naming the file or source: every label must be in
            `[0, num_classes)` and every pixel finite and in [0, 255].
        batch_size: images per batch. Training batches all have exactly this size (the last partial
            batch of each epoch is dropped, a different one each epoch); validation and test batches keep
            every image.
        image_size: int or `(h, w)` to resize to (bilinear, antialiased); None keeps the source's size.
        augment: an `AugmentConfig`, a preset name ("none", "flip", "light", "deit") or None (no augmentation).
            Only training data is augmented.
        data_dir: where the data of `fashion_mnist_idx`, `folder` and `tfds:` sources lives.
        validation_split: the fraction of the training data held out for validation, in [0, 1), drawn
            with `seed`; the source's own validation split instead where it has one (a tfds "validation"
            split beside "test", a folder's `validation/`); 0: no validation split.
        test_split: the test fraction of a flat image folder, in (0, 1): the same images whatever the seed.
        seed: seeds the validation split, the shuffling and every augmentation: the same seed gives the
            same batches.
        shuffle_buffer: size of the shuffle buffer for training data (reshuffled every epoch).
        label_smoothing: soft training targets `(1 - s) * one_hot + s / num_classes` (0: off).

    Returns:
        train_ds, validation_ds, test_ds: batches of `(images float32 (B, H, W, C), labels)`, images as raw
            pixel values in [0, 255] (the models take them so and preprocess them themselves); labels are
            int64 `(B,)`, or float32 one-hot `(B, num_classes)` in all three with soft labels
            (label smoothing, MixUp or CutMix; validation and test labels are then plain one-hot).
            `validation_ds` is None when there is no validation split.
        info: dict with `num_classes`, `image_shape` `(H, W, C)`, `class_names`, `num_train`,
            `num_validation`, `num_test`, and `soft_labels` (whether labels are one-hot: use a
            categorical loss).
    """
    check_positive_int(batch_size, "batch_size")
    check_positive_int(shuffle_buffer, "shuffle_buffer")
    augment = AugmentConfig.from_value(augment)
    check_label_smoothing(label_smoothing)
    train, validation, test, info = load_source(
        source, data_dir, image_size, validation_split=validation_split, test_split=test_split, seed=seed
    )
    shape = tuple(info["image_shape"])
    num_classes = len(info["class_names"])
    soft_labels = bool(label_smoothing) or augment.mixes_labels
    info.update(num_classes=num_classes, image_shape=shape, soft_labels=soft_labels)

    train = _maybe_cache(train, source, info["num_train"], shape)
    train = train.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True).map(_to_float)
    per_image = image_augmenter(augment, shape, seed)
    if per_image is not None:
        train = train.map(per_image)  # in order, not in parallel: keeps the random stream reproducible
    train = train.batch(batch_size, drop_remainder=info["num_train"] >= batch_size)
    per_batch = batch_augmenter(augment, num_classes, seed, label_smoothing)
    if per_batch is not None:
        train = train.map(per_batch)

    def held_out(dataset, count):
        """Validation or test batches: in order, every image, never augmented; one-hot with soft labels."""
        if dataset is None:
            return None
        dataset = _maybe_cache(dataset, source, count, shape)
        dataset = dataset.map(_to_float, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size)
        if soft_labels:
            dataset = dataset.map(lambda images, labels: (images, one_hot(labels, num_classes)))
        return dataset.prefetch(tf.data.AUTOTUNE)

    validation, test = held_out(validation, info["num_validation"]), held_out(test, info["num_test"])
    return train.prefetch(tf.data.AUTOTUNE), validation, test, info
