import math
import shutil

import keras
import numpy as np
import pytest

from keras_vit import build_vit
from keras_vit.data import AugmentConfig, get_datasets, load_default

INFO = dict(
    class_names=["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    image_shape=(28, 28, 1), num_train=10980, num_validation=1220, num_test=1000, num_classes=10,
)  # fmt: skip


def batches(dataset, count):
    return [(np.asarray(x), np.asarray(y)) for x, y in dataset.take(count)]


def test_default_train_validation_and_test():
    train, validation, test, info = get_datasets()
    assert info == dict(INFO, soft_labels=False)
    assert int(train.cardinality()) == 10980 // 128 and int(test.cardinality()) == math.ceil(1000 / 128)
    assert int(validation.cardinality()) == math.ceil(1220 / 128)
    (images, labels), = batches(train, 1)
    assert images.shape == (128, 28, 28, 1) and images.dtype == np.float32 and labels.dtype == np.int64
    # Raw pixel values, as the models take them: every training image is one of the source's, exactly.
    assert images.max() > 1.0 and np.array_equal(images, np.round(images))
    (x_train, _), (x_test, y_test) = load_default()
    source = {image.tobytes() for image in x_train}
    assert all(image.astype(np.uint8).tobytes() in source for image in images)
    # Test data is neither shuffled nor augmented.
    (test_images, test_labels), = batches(test, 1)
    np.testing.assert_array_equal(test_images, x_test[:128].astype("float32"))
    np.testing.assert_array_equal(test_labels, y_test[:128])


def test_label_smoothing_softens_training_labels_only():
    train, validation, test, info = get_datasets(batch_size=16, label_smoothing=0.2)
    (_, labels), = batches(train, 1)
    assert info["soft_labels"] and labels.shape == (16, 10)
    np.testing.assert_allclose(np.unique(labels), [0.02, 0.82], rtol=1e-6)
    for held_out in (validation, test):
        (_, held_out_labels), = batches(held_out, 1)
        assert held_out_labels.shape == (16, 10) and set(np.unique(held_out_labels)) == {0.0, 1.0}


def test_seed_reproduces_shuffling_and_augmentation():
    augment = AugmentConfig(pad_crop=2, mixup_alpha=0.5)

    def first_batches(seed):
        train, _, test, info = get_datasets(batch_size=32, augment=augment, seed=seed)
        return batches(train, 1) + batches(train, 1), next(iter(test)), info

    (first, next_epoch), (_, test_labels), info = first_batches(seed=1)
    (again, _), _, _ = first_batches(seed=1)
    (other, _), _, _ = first_batches(seed=2)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.allclose(first[0], other[0])
    assert not np.allclose(first[0], next_epoch[0])  # each epoch reshuffles and re-augments
    assert info["soft_labels"] and first[1].shape == (32, 10)
    np.testing.assert_allclose(first[1].sum(axis=1), 1.0, atol=1e-5)
    assert set(np.unique(test_labels)) == {0.0, 1.0}  # test labels: plain one-hot


def test_image_size_resizes():
    train, validation, test, info = get_datasets(batch_size=8, image_size=32)
    assert info["image_shape"] == (32, 32, 1)
    assert all(next(iter(split))[0].shape == (8, 32, 32, 1) for split in (train, validation, test))


def test_folder_source(cifar_folder):
    train, validation, test, info = get_datasets("folder", data_dir=cifar_folder, batch_size=8)
    expected = dict(class_names=["airplane", "automobile", "bird"], image_shape=(32, 32, 3), num_train=19,
                    num_validation=2, num_test=9)  # fmt: skip
    assert info == dict(expected, num_classes=3, soft_labels=False)
    assert sum(len(y) for _, y in batches(validation, 10)) == 2
    assert int(train.cardinality()) == 2 and sum(len(y) for _, y in batches(test, 10)) == 9
    images, labels = next(iter(test))
    assert images.shape == (8, 32, 32, 3) and list(np.asarray(labels)) == [0, 0, 0, 1, 1, 1, 2, 2]


@pytest.mark.parametrize("layout", ["train_test", "with_validation_folder", "flat"])
def test_folder_training_files_are_read_in_a_seeded_random_order(cifar_folder, tmp_path, layout):
    # Files are listed class by class; read in that order through a small shuffle buffer, batches would
    # hold one class at a time. With a buffer of 1 (no shuffling by tf.data), the order must already be mixed.
    root = cifar_folder
    if layout == "with_validation_folder":
        root = shutil.copytree(cifar_folder, tmp_path / "copy")
        shutil.copytree(root / "test", root / "validation")
    elif layout == "flat":
        root = tmp_path / "flat"
        for folder in (cifar_folder / "train").iterdir():
            shutil.copytree(folder, root / folder.name)

    def labels(seed):
        train, *_ = get_datasets("folder", data_dir=root, batch_size=1, shuffle_buffer=1, test_split=0.2, seed=seed)
        return [int(y[0]) for _, y in train.take(100)]

    first = labels(seed=0)
    assert first == labels(seed=0) and first != labels(seed=1)
    assert first != sorted(first) and len(set(first[: len(first) // 3])) > 1
    assert sorted(set(first)) == [0, 1, 2]


def test_folder_test_classes_must_match_train(cifar_folder, tmp_path):
    root = shutil.copytree(cifar_folder, tmp_path / "copy")
    shutil.rmtree(root / "test" / "bird")
    with pytest.raises(ValueError, match=r"test has class folders \['airplane', 'automobile'\]; expected"):
        get_datasets("folder", data_dir=root)


def test_fashion_mnist_idx_source(data_dir):
    train, _, _, info = get_datasets("fashion_mnist_idx", data_dir=data_dir / "fashion-mnist", batch_size=16)
    assert (info["num_train"], info["num_validation"], info["num_test"]) == (54000, 6000, 10000)
    assert info["image_shape"] == (28, 28, 1)
    assert next(iter(train))[0].shape == (16, 28, 28, 1)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(source="imagenet"), ValueError, "'imagenet'; valid sources: default, fashion_mnist_idx, folder, tfds:<name>"),
        (dict(source="tfds:"), ValueError, "Unknown data source 'tfds:'"),
        (dict(source="folder"), ValueError, "source='folder' needs data_dir"),
        (dict(source="fashion_mnist_idx", data_dir="/no/such/dir"), FileNotFoundError, "/no/such/dir"),
        (dict(batch_size=0), ValueError, "batch_size must be a positive int; got 0"),
        (dict(image_size=(28,)), ValueError, r"image_size must be .*got \(28,\)"),
        (dict(augment="heavy"), ValueError, "got 'heavy'"),
        (dict(seed=None), ValueError, "seed must be an int; got None"),
        (dict(label_smoothing=1.0), ValueError, r"label_smoothing must be a number in \[0, 1\); got 1.0"),
        (dict(validation_split=1.0), ValueError, r"validation_split must be a number in \[0, 1\) \(0: no validation\); got 1.0"),
        (dict(test_split=0), ValueError, r"test_split must be a number in \(0, 1\); got 0"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        get_datasets(**kwargs)


def test_one_fit_step_on_the_default(tiny):
    train, _, _, info = get_datasets(batch_size=16)
    model = build_vit(num_classes=info["num_classes"], **dict(tiny, image_size=28, patch_size=7, channels=1, depth=1))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = [np.array(w) for w in model.get_weights()]
    history = model.fit(train.take(1), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.allclose(b, np.array(a)) for b, a in zip(before, model.get_weights()))
