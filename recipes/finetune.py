"""Fine-tune a pretrained ViT checkpoint on an image folder or a tfds dataset at a chosen resolution.

    python recipes/finetune.py vit.safetensors --images DIR --image-size 224 --epochs 3 --output tuned.safetensors
    python recipes/finetune.py hf_vit_folder/ --tfds cifar10 --image-size 64 --layer-decay 0.75

Any checkpoint `keras_vit.load_checkpoint` reads works (timm, transformers, Google npz). The head is
replaced for the dataset's classes (zero init) and the position embeddings are resampled to
`--image-size`. Training: AdamW, linear warm-up then cosine decay, layer-wise learning-rate decay
(`--layer-decay`, 1 disables it), cross-entropy; the result is saved in timm's layout.

The input pipeline is tf.data (TensorFlow by nature); the model trains on any Keras backend.
"""

import argparse
import pathlib
import sys

import keras
import tensorflow as tf

import keras_vit
from keras_vit.layers import PatchEncoder, TransformerBlock

# timm and big_vision's usual ViT fine-tuning normalization: pixels in [0, 1] mapped to [-1, 1].
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)


def layer_decay_multipliers(model, decay):
    """`{variable path: learning-rate multiplier}`: 1 for the head and final norm, `decay ** k` for the
    block `k` places below them, `decay ** (depth + 1)` for the patch encoder (BEiT / timm convention)."""
    blocks = [layer for layer in model.layers if isinstance(layer, TransformerBlock)]
    depth = len(blocks)
    layer_ids = {}
    for layer in model.layers:
        if isinstance(layer, PatchEncoder):
            layer_ids.update({variable.path: 0 for variable in layer.weights})
    for index, block in enumerate(blocks):
        layer_ids.update({variable.path: index + 1 for variable in block.weights})
    return {
        variable.path: decay ** (depth + 1 - layer_ids.get(variable.path, depth + 1))
        for variable in model.trainable_variables
    }


class LayerDecayAdamW(keras.optimizers.AdamW):
    """AdamW whose learning rate (and so decoupled weight decay) is scaled per variable by
    `multipliers[variable.path]`.

    Keras optimizers have one learning rate for all variables (no parameter groups), hence this
    subclass. Being a subclass, it also runs on PyTorch through the per-variable `update_step`
    rather than Keras' fused torch AdamW. Weight decay is applied with plain assignments, as the
    base optimizer does: fine on one device, not under a multi-replica tf.distribute strategy.
    """

    def __init__(self, multipliers, **kwargs):
        super().__init__(**kwargs)
        self.multipliers = dict(multipliers)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._scales = [self.multipliers.get(variable.path, 1.0) for variable in variables]

    def _scaled_learning_rate(self, learning_rate, variable):
        scale = self._scales[self._get_variable_index(variable)]
        return keras.ops.cast(learning_rate, variable.dtype) * scale

    def update_step(self, gradient, variable, learning_rate):
        super().update_step(gradient, variable, self._scaled_learning_rate(learning_rate, variable))

    def _apply_weight_decay(self, variables):
        if self.weight_decay is None:
            return
        for variable in variables:
            if self._use_weight_decay(variable):
                rate = self._scaled_learning_rate(self.learning_rate, variable)
                variable.assign(variable - variable * keras.ops.cast(self.weight_decay, variable.dtype) * rate)

    def get_config(self):
        return {**super().get_config(), "multipliers": self.multipliers}


def _normalize(images, labels):
    mean = tf.constant(MEAN[: images.shape[-1]])
    std = tf.constant(STD[: images.shape[-1]])
    return (images / 255.0 - mean) / std, labels


def class_names_of(args):
    """The dataset's class names, known before any data is read (to size the new head)."""
    if args.images:
        names = sorted(path.name for path in pathlib.Path(args.images).iterdir() if path.is_dir())
        if not names:
            raise ValueError(f"--images {args.images} has no class sub-folders.")
        return names
    import tensorflow_datasets as tfds

    return tfds.builder(args.tfds, data_dir=args.tfds_data_dir).info.features["label"].names


def image_folder(directory, class_names, image_size, channels, batch_size, validation_split, seed):
    """`(train, validation)` from `directory/<class>/*.jpg|png`, resized to `image_size`; validation is
    None when `validation_split` is 0."""
    splits = keras.utils.image_dataset_from_directory(
        directory,
        class_names=class_names,
        image_size=image_size,
        color_mode="grayscale" if channels == 1 else "rgb",
        batch_size=batch_size,
        validation_split=validation_split or None,
        subset="both" if validation_split else None,
        seed=seed,
    )
    train, validation = splits if validation_split else (splits, None)
    return train.map(_normalize).prefetch(2), validation and validation.map(_normalize).prefetch(2)


def tfds_splits(name, data_dir, image_size, batch_size, download):
    """`(train, validation)` from a tfds image classification dataset (its train and test splits)."""
    import tensorflow_datasets as tfds

    train, test = tfds.load(name, split=["train", "test"], as_supervised=True, data_dir=data_dir, download=download)

    def prepare(dataset, shuffle):
        dataset = dataset.map(lambda image, label: (tf.image.resize(tf.cast(image, "float32"), image_size), label))
        if shuffle:
            dataset = dataset.shuffle(10_000)
        return dataset.batch(batch_size).map(_normalize).prefetch(2)

    return prepare(train, True), prepare(test, False)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="timm / transformers / npz checkpoint (file or transformers folder)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", help="image folder with one sub-folder per class")
    source.add_argument("--tfds", help="tfds dataset name, e.g. cifar10 (already prepared unless --download)")
    parser.add_argument("--tfds-data-dir", default=None)
    parser.add_argument("--download", action="store_true", help="let tfds download and prepare the dataset")
    parser.add_argument("--name", default=None, help="config name, if the architecture is not to be inferred")
    parser.add_argument("--image-size", type=int, nargs="+", default=None, help="H [W]; default: the checkpoint's")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps-per-epoch", type=int, default=None, help="cap on steps per epoch")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-4, help="peak learning rate (after warm-up)")
    parser.add_argument("--warmup-steps", type=int, default=100)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--layer-decay", type=float, default=0.75, help="layer-wise lr decay; 1 disables it")
    parser.add_argument("--validation-split", type=float, default=0.1, help="for --images; 0: no validation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="finetuned.safetensors", help="where to save (timm layout)")
    args = parser.parse_args(argv)
    if args.image_size is not None and len(args.image_size) not in (1, 2):
        parser.error(f"--image-size takes H or H W; got {args.image_size}.")
    if not 0 < args.layer_decay <= 1:
        parser.error(f"--layer-decay must be in (0, 1]; got {args.layer_decay}.")
    if not args.output.endswith(".safetensors"):
        parser.error(f"--output must be a .safetensors path; got {args.output}.")
    return args


def main(argv=None):
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    image_size = None if args.image_size is None else (args.image_size[0], args.image_size[-1])
    class_names = class_names_of(args)
    model = keras_vit.load_checkpoint(args.checkpoint, args.name, num_classes=len(class_names), image_size=image_size)
    height, width, channels = model.input_shape[1:]
    if args.images:
        train, validation = image_folder(
            args.images, class_names, (height, width), channels, args.batch_size, args.validation_split, args.seed
        )
    else:
        train, validation = tfds_splits(args.tfds, args.tfds_data_dir, (height, width), args.batch_size, args.download)

    steps_per_epoch = args.steps_per_epoch or int(train.cardinality())
    total_steps = max(args.epochs * steps_per_epoch, 1)
    warmup_steps = min(args.warmup_steps, total_steps - 1)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=total_steps - warmup_steps, warmup_target=args.learning_rate, warmup_steps=warmup_steps
    )
    optimizer = LayerDecayAdamW(
        layer_decay_multipliers(model, args.layer_decay), learning_rate=schedule, weight_decay=args.weight_decay
    )
    # timm's rule: no weight decay on biases, norms, LayerScale, tokens and position embeddings.
    optimizer.exclude_from_weight_decay(var_names=["bias", "beta", "gamma", "cls_token", "dist_token", "position"])
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(
        train.repeat() if args.steps_per_epoch else train,
        validation_data=validation,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
    )
    keras_vit.save_checkpoint(model, args.output)
    print(f"classes: {class_names}")
    print("final: " + ", ".join(f"{key}={values[-1]:.4f}" for key, values in history.history.items()))
    print(f"saved {args.output}")
    return history


if __name__ == "__main__":
    main(sys.argv[1:])
