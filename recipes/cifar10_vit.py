"""CIFAR-10 (50,000 train / 10,000 test, 32x32 RGB) with ViT-Tiny/4 and the DeiT augmentation.

    python recipes/cifar10_vit.py --data-dir DIR [any `keras-vit train` option]

DIR is an image folder with `train/<class>/*.jpg` and `test/<class>/*.jpg`, such as the unpacked
`cifar10-jpg.tar.gz` (`mkdir DIR && tar xzf cifar10-jpg.tar.gz -C DIR`: the archive holds `train/` and
`test/` at its top). With the TensorFlow Datasets copy instead: `--data tfds:cifar10 [--data-dir TFDS_DIR]`.
"""

if __name__ == "__main__":  # before anything imports Keras: TensorFlow writes its start-up lines on import
    import keras_vit_cli

    keras_vit_cli.filter_startup_noise()

import sys

from keras_vit.cli import main
from keras_vit.training import TrainConfig

RECIPE = TrainConfig(
    name="cifar10_vit",
    model="vit_tiny_patch4_32",
    model_overrides={"drop_path_rate": 0.1},
    data="folder",
    augment="deit",  # random resized crop, flip, RandAugment, random erasing, MixUp/CutMix, smoothing 0.1
    epochs=100,
    batch_size=128,
    base_learning_rate=4e-3,  # peak 1e-3 at the global batch of 128
    weight_decay=0.05,
    warmup_epochs=5,
)

if __name__ == "__main__":
    sys.exit(main(["train", "--recipe", __file__, *sys.argv[1:]]))
