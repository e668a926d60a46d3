"""Any image-classification data set: a TensorFlow Datasets name or an image folder.

    python recipes/train_any.py --data tfds:oxford_iiit_pet --image-size 64 [--data-dir TFDS_DIR]
    python recipes/train_any.py --data folder --data-dir DIR --image-size 32

An image folder holds `train/<class>/*` and `test/<class>/*`, or only `<class>/*` (split by `--test-split` and
`--validation-split`). The model (ViT-Tiny/4, override with
`--model` and `--set FIELD=VALUE`) takes its input size and channels from the data; `--image-size`
resizes, and must be divisible by the patch size. Every `keras-vit train` option applies.
"""

if __name__ == "__main__":  # before anything imports Keras: TensorFlow writes its start-up lines on import
    import keras_vit_cli

    keras_vit_cli.filter_startup_noise()

import sys

from keras_vit.cli import main
from keras_vit.training import TrainConfig

RECIPE = TrainConfig(
    name="train_any",
    model="vit_tiny_patch4_32",
    model_overrides={"drop_path_rate": 0.1},
    augment="deit",
    epochs=50,
    batch_size=128,
    base_learning_rate=4e-3,
    warmup_epochs=5,
)

if __name__ == "__main__":
    if not any(arg == "--data" or arg.startswith("--data=") for arg in sys.argv[1:]):
        sys.exit("train_any.py needs --data: tfds:<name> or folder (with --data-dir).")
    sys.exit(main(["train", "--recipe", __file__, *sys.argv[1:]]))
