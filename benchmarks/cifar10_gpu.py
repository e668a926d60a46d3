"""The CIFAR-10 recipe (recipes/cifar10_vit.py) on a GPU, with the JAX backend and no TensorFlow.

    python benchmarks/cifar10_gpu.py --data-dir DIR            # DIR: cifar10-jpg/ or cifar10-jpg.tar.gz
    python benchmarks/cifar10_gpu.py --data-dir DIR --epochs 1 --train-subset 512 --test-subset 256  # a quick check

Prints the test accuracy after every epoch with the epoch's wall time and training images/s, then the
totals. Same model, optimizer, schedule, batch size and DeiT augmentation settings as the recipe.

Why not `keras-vit train`: the GPU image has JAX and torch but no TensorFlow, so the recipe's tf.data
pipeline (keras_vit.data) cannot run there. This script reads the same image folder with Pillow into
device memory and does the augmentation with Keras layers on the GPU:
- per image, inside the model and in training only: random resized crop (`RandomResizedCrop` below;
  Keras has no such layer, and keras_vit.data's is tf.image), `RandomFlip`, Keras' `RandAugment` and
  `RandomErasing`;
- per batch: label smoothing (the recipe's), then Keras' `MixUp` or `CutMix` (chosen per batch with the recipe's
  switch probability), eagerly on the device.
Unlike the tf.data pipeline, Keras' `RandAugment` here picks its operations once per batch, not per image.
It computes all of its operations on every image and is by far the slowest step (on one H100 a run with
it did not finish its first epoch in three minutes): `--no-rand-augment` leaves it out. Measured
figures: benchmarks/README.md.
"""

import argparse
import dataclasses
import importlib.util
import pathlib
import sys
import tarfile
import tempfile
import time

import keras
import numpy as np
from keras import ops

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="cifar10-jpg/ (train/<class>/*.jpg, test/...) or its .tar.gz")
    parser.add_argument("--epochs", type=int, help="default: the recipe's")
    parser.add_argument("--batch-size", type=int, help="default: the recipe's (the peak lr scales with it)")
    parser.add_argument("--precision", help="a Keras dtype policy, e.g. mixed_bfloat16 (default: the recipe's)")
    parser.add_argument("--rand-augment", action=argparse.BooleanOptionalAction, default=True,
                        help="Keras' RandAugment (default on, as in the recipe; it is the slowest step by far)")
    parser.add_argument("--train-subset", type=int, help="train on the first N images of a shuffled train split")
    parser.add_argument("--test-subset", type=int, help="test on the first N images of the test split")
    return parser.parse_args(argv)


def load_split(root, split, limit=None, seed=0):
    """uint8 images `(N, 32, 32, 3)` and int32 labels `(N,)` of `root/split/<class>/*.jpg`, shuffled."""
    from PIL import Image

    paths, labels = [], []
    for index, name in enumerate(CLASSES):
        folder = root / split / name
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} not found: --data-dir must hold {split}/<class>/ for classes {CLASSES}.")
        files = sorted(folder.iterdir())
        paths += files
        labels += [index] * len(files)
    order = np.random.default_rng(seed).permutation(len(paths))[:limit]
    images = np.stack([np.asarray(Image.open(paths[i]).convert("RGB")) for i in order])
    return images, np.asarray(labels, "int32")[order]


def find_root(data_dir, scratch):
    path = pathlib.Path(data_dir)
    if path.is_file() and path.name.endswith(".tar.gz"):
        with tarfile.open(path) as archive:
            archive.extractall(scratch, filter="data")
        path = pathlib.Path(scratch)
        if not (path / "train").is_dir():
            path = path / "cifar10-jpg"
    if not (path / "train").is_dir():
        raise FileNotFoundError(f"{data_dir!r} is neither cifar10-jpg.tar.gz nor a folder with train/ and test/.")
    return path


def load_augment_config(name):
    # keras_vit.data's __init__ imports TensorFlow (its tf.data pipeline); augment_config.py needs none.
    spec = importlib.util.spec_from_file_location("augment_config", REPO / "keras_vit" / "data" / "augment_config.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.AugmentConfig.from_value(name)


class RandomResizedCrop(keras.layers.Layer):
    """Per image in training: a random box of area fraction in `scale` and aspect ratio (w/h) in
    `ratio` (drawn log-uniformly, clipped to the image), resized back to the image size with
    bilinear interpolation. `(B, H, W, C)` -> same; the identity at inference."""

    def __init__(self, scale, ratio, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.ratio, self.seed = tuple(scale), tuple(ratio), seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training:
            return images
        batch = ops.shape(images)[0]
        height, width = images.shape[1], images.shape[2]
        area = keras.random.uniform((batch,), *self.scale, seed=self.generator)
        log_ratio = keras.random.uniform((batch,), *np.log(self.ratio), seed=self.generator)
        aspect = ops.exp(log_ratio)
        crop_w = ops.minimum(ops.sqrt(area * aspect), 1.0) * width
        crop_h = ops.minimum(ops.sqrt(area / aspect), 1.0) * height
        x0 = keras.random.uniform((batch,), seed=self.generator) * (width - crop_w)
        y0 = keras.random.uniform((batch,), seed=self.generator) * (height - crop_h)
        zeros = ops.zeros_like(x0)
        # Output pixel x reads input x_in = (x + 0.5) * sx - 0.5 + x0, with sx = crop_w / width (pixel
        # centres aligned, as tf.image.resize does); likewise y. Reads past an edge take the edge pixel.
        sx, sy = crop_w / width, crop_h / height
        transform = ops.stack(
            [sx, zeros, x0 + 0.5 * sx - 0.5, zeros, sy, y0 + 0.5 * sy - 0.5, zeros, zeros], axis=1
        )  # fmt: skip
        return ops.image.affine_transform(images, transform, interpolation="bilinear", fill_mode="nearest")

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "ratio": self.ratio, "seed": self.seed}


def augmented_model(model, augment, seed):
    """`model` behind the per-image augmentation layers, which act in training only."""
    steps = []
    if augment.random_resized_crop:
        steps.append(RandomResizedCrop(augment.crop_scale, augment.crop_ratio, seed=seed + 1, dtype="float32"))
    if augment.horizontal_flip:
        steps.append(keras.layers.RandomFlip("horizontal", seed=seed + 2, dtype="float32"))
    if augment.rand_augment:
        steps.append(keras.layers.RandAugment(
            value_range=(0, 255), num_ops=augment.rand_augment_ops, factor=augment.rand_augment_magnitude,
            seed=seed + 3, dtype="float32",
        ))  # fmt: skip
    if augment.random_erasing:
        probability = (augment.random_erasing, augment.random_erasing)
        steps.append(keras.layers.RandomErasing(factor=probability, value_range=(0, 255), seed=seed + 4, dtype="float32"))
    inputs = keras.Input(model.input_shape[1:])
    images = inputs
    for step in steps:
        images = step(images)
        if isinstance(step, keras.layers.RandomErasing):  # it fills with scaled normal noise
            images = ops.clip(images, 0.0, 255.0)
    return keras.Model(inputs, model(images), name="augmented_" + model.name)


def batches(images, labels, batch_size, augment, num_classes, seed, label_smoothing=0.0):
    """A `keras.utils.PyDataset` of shuffled `(float raw pixels in [0, 255], soft labels)` batches from device
    arrays (the model rescales its inputs itself)."""

    mixup = keras.layers.MixUp(alpha=augment.mixup_alpha, seed=seed + 5) if augment.mixup_alpha else None
    cutmix = None
    if augment.cutmix_alpha:
        cutmix = keras.layers.CutMix(factor=(augment.cutmix_alpha, augment.cutmix_alpha), seed=seed + 6)
    rng = np.random.default_rng(seed)

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.order = rng.permutation(len(labels))

        def __len__(self):
            return len(labels) // batch_size  # whole batches only, as the tf.data pipeline drops the rest

        def __getitem__(self, index):
            chosen = ops.convert_to_tensor(self.order[index * batch_size:(index + 1) * batch_size])
            x = ops.cast(ops.take(images, chosen, axis=0), "float32")
            smoothing = label_smoothing
            y = ops.one_hot(ops.take(labels, chosen, axis=0), num_classes) * (1 - smoothing) + smoothing / num_classes
            mixer = cutmix if mixup is None or (cutmix is not None and rng.uniform() < augment.mix_switch_prob) else mixup
            if mixer is not None:
                mixed = mixer({"images": x, "labels": y})
                x, y = mixed["images"], mixed["labels"]
            return x, y

        def on_epoch_end(self):
            self.order = rng.permutation(len(labels))

    return Batches()


def main(argv=None):
    args = parse_args(argv)

    from gpu_throughput import device_name
    from keras_vit import build_vit
    from keras_vit.training.cli import load_recipe
    from keras_vit.training.optimizer import build_optimizer, peak_learning_rate, schedule_steps
    from keras_vit.training.train import compile_model

    recipe = load_recipe(str(REPO / "recipes" / "cifar10_vit.py"))
    epochs = args.epochs or recipe.epochs
    batch_size = args.batch_size or recipe.batch_size
    keras.utils.set_random_seed(recipe.seed)
    keras.mixed_precision.set_dtype_policy(args.precision or recipe.precision)
    augment = load_augment_config(recipe.augment)
    if not args.rand_augment:
        augment = dataclasses.replace(augment, rand_augment=False)

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        root = find_root(args.data_dir, scratch)
        x_train, y_train = load_split(root, "train", args.train_subset, seed=recipe.seed)
        x_test, y_test = load_split(root, "test", args.test_subset, seed=recipe.seed)
    print(f"loaded {len(x_train)} train / {len(x_test)} test images in {time.perf_counter() - start:.0f} s", flush=True)
    num_classes = len(CLASSES)
    test_labels = np.eye(num_classes, dtype="float32")[y_test]
    test_images = x_test.astype("float32")

    model = build_vit(recipe.model, num_classes=num_classes, **recipe.model_overrides)
    trainer = augmented_model(model, augment, recipe.seed)
    steps_per_epoch = len(x_train) // batch_size
    total_steps, warmup_steps = schedule_steps(epochs, steps_per_epoch, recipe.warmup_epochs)
    peak_lr = peak_learning_rate(recipe.base_learning_rate, batch_size, recipe.base_batch_size)
    optimizer = build_optimizer(
        peak_lr, total_steps, warmup_steps, recipe.weight_decay, recipe.clipnorm, no_weight_decay=model.no_weight_decay()
    )
    compile_model(trainer, optimizer, soft_labels=True)

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            if batch in (0, 20) and self.params.get("epochs") and not hasattr(self, f"seen_{batch}"):
                setattr(self, f"seen_{batch}", True)  # first epoch only: compilation, then the step rate
                print(f"step {batch + 1} done after {time.perf_counter() - self.start:.1f} s", flush=True)

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.start
            print(
                f"epoch {epoch + 1}: test_accuracy {logs['val_accuracy']:.4f}  train_accuracy {logs['accuracy']:.4f}  "
                f"{seconds:.1f} s  {steps_per_epoch * batch_size / seconds:.0f} images/s (incl. test pass)",
                flush=True,
            )

    images = ops.convert_to_tensor(x_train)
    labels = ops.convert_to_tensor(y_train)
    fit_start = time.perf_counter()
    trainer.fit(
        batches(images, labels, batch_size, augment, num_classes, recipe.seed, recipe.label_smoothing),
        validation_data=(test_images, test_labels),
        validation_batch_size=1000,
        epochs=epochs,
        callbacks=[EpochTimer()],
        verbose=0,
    )
    fit_seconds = time.perf_counter() - fit_start
    _, test_accuracy = trainer.evaluate(test_images, test_labels, batch_size=1000, verbose=0)
    print(f"backend: {keras.backend.backend()} on {device_name()}, model: {recipe.model} "
          f"{dict(recipe.model_overrides)}, {epochs} epochs, batch {batch_size}, peak lr {peak_lr:.3g}, "
          f"precision {keras.config.dtype_policy().name}")
    print(f"training: {fit_seconds:.0f} s, {epochs * steps_per_epoch * batch_size / fit_seconds:.0f} images/s "
          f"(incl. per-epoch test passes and compilation)")
    print(f"wall time: {time.perf_counter() - start:.0f} s")
    print(f"test_accuracy: {test_accuracy:.4f}")


if __name__ == "__main__":
    sys.exit(main())
