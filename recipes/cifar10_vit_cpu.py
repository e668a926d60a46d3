"""CIFAR-10 in an hour on 2 CPU cores: a 4-block ViT over a convolutional stem, 20 epochs.

    python recipes/cifar10_vit_cpu.py --data-dir DIR [any `keras-vit train` option]

DIR is an image folder with `train/<class>/*.jpg` and `test/<class>/*.jpg`, such as the unpacked
`cifar10-jpg.tar.gz` (`mkdir DIR && tar xzf cifar10-jpg.tar.gz -C DIR`). `benchmarks/cifar10_cpu.py`
runs this recipe and reports accuracy per epoch, images/s and the machine's matmul rate.
`recipes/cifar10_vit.py` is the long (100-epoch) DeiT-style recipe.
"""

if __name__ == "__main__":  # before anything imports Keras: TensorFlow writes its start-up lines on import
    import keras_vit_cli

    keras_vit_cli.filter_startup_noise()

import sys

from keras_vit.cli import main
from keras_vit.training import TrainConfig

RECIPE = TrainConfig(
    name="cifar10_vit_cpu",
    model="vit_tiny_patch4_32",
    # Narrower and shallower than ViT-Tiny so that 20 epochs fit in the hour: 64 tokens of width 128,
    # two 64-wide heads (faster than four 32-wide ones on CPUs), 4 blocks (as accurate as 6 at equal
    # epochs in a short schedule, and cheaper), mean pooling. The stem (Xiao et al.; CCT's convolutional
    # tokenizer) gives the blocks local features from the first epoch.
    model_overrides=dict(
        dim=128, depth=4, num_heads=2, mlp_dim=256, pooling="gap", class_token=False,
        patch_embedding="conv_stem", stem_entry_width=32,
    ),
    data="folder",
    # A short schedule on 32-pixel images: shifts and flips only. DeiT's random resized crop (scale
    # 0.08-1), RandAugment and MixUp/CutMix regularize runs of hundreds of epochs and slow the first ones
    # (benchmarks/cifar10_short_schedules.py).
    augment="light",
    epochs=20,
    batch_size=128,
    base_learning_rate=8e-3,  # peak 2e-3 at the global batch of 128
    weight_decay=0.05,
    warmup_epochs=1,
    label_smoothing=0.1,
)

if __name__ == "__main__":
    sys.exit(main(["train", "--recipe", __file__, *sys.argv[1:]]))
