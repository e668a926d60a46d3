"""Data for training: sources, the tf.data pipeline and its augmentation.

TF-only by nature: everything here is built on `tf.data` (and tfds), which feeds `model.fit` under every
Keras backend (TensorFlow, JAX, PyTorch), so TensorFlow must be installed whatever the backend.

Sources (numpy arrays or unbatched `tf.data.Dataset`s of uint8 images and int64 labels):
    load_idx, load_fashion_mnist, load_default, load_image_folder, load_tfds.
The one entry point for training: `get_datasets(source, ...) -> (train_ds, validation_ds, test_ds, info)`,
from a source name or arrays in memory, with a validation split held out of the training data (seeded, by
index: `keras_vit.data.splits`) and augmentation described by `AugmentConfig`. Labels and pixels are
checked when loaded (`keras_vit.data.checks`): bad ones are errors naming the file or source.
"""

from keras_vit.data.augment_config import AugmentConfig
from keras_vit.data.default import load_default
from keras_vit.data.idx import (
    FASHION_MNIST_CLASSES,
    fashion_mnist_split,
    load_fashion_mnist,
    load_idx,
    write_fashion_mnist_subset,
    write_idx,
)
from keras_vit.data.image_folder import load_image_folder
from keras_vit.data.pipeline import SOURCES, get_datasets, load_source
from keras_vit.data.tfds_source import load_tfds
