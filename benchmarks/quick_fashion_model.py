"""Train a small ViT on Fashion-MNIST for a few hundred steps and save it as `.keras`.

A stand-in for the model of the Fashion-MNIST recipe, so that export benchmarks and the
reference-export script have a model whose top-1 predictions mean something. Not a recipe:
no augmentation, one short cosine schedule.

    PYTHONPATH=$PWD KERAS_BACKEND=jax python benchmarks/quick_fashion_model.py --steps 600 --out /tmp/nano.keras
"""

import argparse
import os
import time

import keras

import keras_vit
from keras_vit.data import fashion_mnist_split

DEFAULT_DATA = os.environ.get("KERAS_VIT_DATA", os.path.join("..", "shared", "data"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="vit_nano_patch4_28")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--data-dir", default=DEFAULT_DATA)
    parser.add_argument("--out", required=True, help="where to write the trained .keras file")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    x_train, y_train = fashion_mnist_split(os.path.join(args.data_dir, "fashion-mnist"), "train")
    x_test, y_test = fashion_mnist_split(os.path.join(args.data_dir, "fashion-mnist"), "test")
    model = keras_vit.build_vit(args.config, num_classes=10)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, args.steps, warmup_target=2e-3, warmup_steps=args.steps // 10
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.05),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    epochs = -(-args.steps * args.batch_size // len(x_train))
    steps_per_epoch = args.steps // epochs
    start = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        steps_per_epoch=steps_per_epoch,
        epochs=epochs,
        verbose=2,
    )
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
    print(f"{args.config}: {args.steps} steps in {seconds:.0f} s, test accuracy {accuracy:.4f}")
    model.save(args.out)


if __name__ == "__main__":
    main()
