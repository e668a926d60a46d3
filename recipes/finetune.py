"""Fine-tune a pretrained ViT checkpoint (ViT, DeiT, DeiT III, DINOv2, CLIP, SigLIP) on an image folder or a tfds
dataset, at a chosen resolution.

    python recipes/finetune.py --checkpoint vit.safetensors --data folder --data-dir DIR --image-size 64 \\
        --epochs 3 --timm-output tuned.safetensors
    python recipes/finetune.py --checkpoint hf_vit_folder/ --data tfds:cifar10 --image-size 64 --layer-decay 0.65
    keras-vit train --recipe recipes/finetune.py --checkpoint vit.safetensors --data-dir DIR --image-size 64

DIR is an image folder with `train/<class>/*.jpg|png` and `test/<class>/*.jpg|png`, or only `<class>/*.jpg|png`
(split by `--test-split` and `--validation-split`; for `tfds:` sources, the
TensorFlow Datasets folder, optional). Any checkpoint `keras_vit.load_checkpoint` reads works (timm files and
folders, transformers folders, Google / big_vision npz): its architecture is read from the file and the config
stored with it (`--model NAME` makes the file fit a named config instead), the head is replaced for the data's
classes (zero init; kept when the checkpoint's has as many) and the position embeddings are resampled to the
images' size (the data's own, or `--image-size H`, `--image-size "(H, W)"`).

This is `keras-vit train` with the `RECIPE` below: AdamW with warm-up and cosine decay, layer-wise
learning-rate decay, a model that normalizes its raw pixel inputs with the mean and std the checkpoint
records (timm's pretrained_cfg, transformers' image processor, keras_vit's metadata; a checkpoint that
records none needs `--input-normalization MEAN STD`, e.g. `0.5 0.5` for [-1, 1]), no weight decay on
biases, norms, tokens and position embeddings. Every `keras-vit train` option applies (`--layer-decay None` turns layer decay off). The run
folder (`runs/finetune`, or `--output-dir`) receives `model.keras` and the rest; `--timm-output
PATH.safetensors` (this script only, not `keras-vit train`) also writes the final weights in timm's layout.
"""

if __name__ == "__main__":  # before anything imports Keras: TensorFlow writes its start-up lines on import
    import keras_vit_cli

    keras_vit_cli.filter_startup_noise()

import argparse
import os
import sys

import keras_vit
from keras_vit import cli
from keras_vit.training import TrainConfig
from keras_vit.training.cli import config_from_args

RECIPE = TrainConfig(
    name="finetune",
    model="auto",  # the checkpoint's architecture
    model_overrides={},
    data="folder",
    input_normalization=None,  # the checkpoint's: the mean and std its weights were trained with
    augment="light",
    epochs=3,
    batch_size=32,
    base_learning_rate=1.6e-3,  # peak 1e-4 at the global batch of 32, for the head; the blocks below get less
    weight_decay=0.05,
    layer_decay=0.75,
    warmup_epochs=0.5,
    label_smoothing=0.1,
)


def main(argv=None):
    """Train `RECIPE` with the `keras-vit train` options in `argv`; with `--timm-output PATH.safetensors`,
    then save the final model there in timm's layout."""
    argv = sys.argv[1:] if argv is None else list(argv)
    own = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    own.add_argument("--timm-output", default=None)
    args, rest = own.parse_known_args(argv)
    if args.timm_output is not None:
        if not args.timm_output.endswith(".safetensors"):
            raise SystemExit(f"finetune: --timm-output must be a .safetensors path; got {args.timm_output!r}.")
        if not os.path.isdir(os.path.dirname(args.timm_output) or "."):
            raise SystemExit(f"finetune: the folder of --timm-output {args.timm_output!r} does not exist.")
    if "-h" in rest or "--help" in rest:
        print(__doc__)
    train_argv = ["train", "--recipe", __file__, *rest]
    cli.main(train_argv)
    if args.timm_output is not None:
        run_dir = config_from_args(cli.parse_args(train_argv)).run_dir
        model = keras_vit.load_model(os.path.join(run_dir, "model.keras"))
        keras_vit.save_checkpoint(model, args.timm_output)
        print(f"timm checkpoint: {args.timm_output}")


if __name__ == "__main__":
    sys.exit(main())
