"""Every `keras_vit.inspect` analysis of a trained ViT, on real Fashion-MNIST test images.

    python recipes/inspect_vit.py MODEL.keras --out runs/inspect [--cnn CNN.keras --cnn-layers L1 L2 ...]

MODEL.keras is the model the Fashion-MNIST training recipe writes; `--cnn` adds a CNN (e.g. the
DeiT teacher) to the frequency figure. Without a model path, `--train-seconds N` first trains a
stand-in ViT (vit_nano_patch4_28) and a small stand-in CNN for N seconds each and inspects those.
Images are scaled to [0, 1]; the data folder is $KERAS_VIT_DATA/fashion-mnist (default
../shared/data/fashion-mnist beside the repository).
"""

import argparse
import gzip
import os
import pathlib
import time

import keras
import numpy as np

import keras_vit
from keras_vit.inspect import write_report

DATA = pathlib.Path(os.environ.get("KERAS_VIT_DATA", pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"))


def read_idx(path):
    """An IDX file (.gz): images (magic 2051) as `(count, rows, cols)` uint8, labels (2049) as `(count,)`."""
    data = gzip.open(path).read()
    magic, count = int.from_bytes(data[:4], "big"), int.from_bytes(data[4:8], "big")
    if magic == 2049:
        return np.frombuffer(data, np.uint8, count, offset=8)
    if magic != 2051:
        raise ValueError(f"{path} is not an IDX image or label file (magic {magic}).")
    rows, cols = int.from_bytes(data[8:12], "big"), int.from_bytes(data[12:16], "big")
    return np.frombuffer(data, np.uint8, count * rows * cols, offset=16).reshape(count, rows, cols)


def fashion_mnist(split, folder):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(folder / f"{prefix}-images-idx3-ubyte.gz")[..., None].astype("float32") / 255
    return images, read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz").astype("int32")


def one_per_class_first(labels, count):
    """Test-image indices whose first 10 are one image of each class, then the next of each, ..."""
    by_class = [np.flatnonzero(labels == label) for label in range(10)]
    return np.array([by_class[k % 10][k // 10] for k in range(count)])


class StopAfter(keras.callbacks.Callback):
    def __init__(self, seconds):
        super().__init__()
        self.deadline = time.time() + seconds

    def on_train_batch_end(self, batch, logs=None):
        self.model.stop_training = time.time() > self.deadline


def stand_in_cnn():
    """A small CNN for the frequency comparison until the DeiT issue's teacher exists."""
    inputs = keras.Input((28, 28, 1), name="images")
    x = inputs
    for index, (filters, stride) in enumerate([(32, 1), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1)]):
        x = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", activation="relu", name=f"conv_{index}")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(10, name="head")(x), name="cnn")


def train_stand_in(model, seconds, train, test):
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(keras.optimizers.AdamW(1e-3, weight_decay=0.05), loss=loss, metrics=["accuracy"])
    start = time.time()
    model.fit(*train, batch_size=128, epochs=100, callbacks=[StopAfter(seconds)], verbose=2)
    accuracy = model.evaluate(*test, batch_size=256, verbose=0)[1]
    print(f"{model.name}: trained {time.time() - start:.0f} s, test accuracy {accuracy:.4f} on {len(test[0])} images")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", help="a trained ViT (.keras); omit with --train-seconds")
    parser.add_argument("--out", required=True)
    parser.add_argument("--cnn", help="a trained CNN (.keras) for the frequency comparison")
    parser.add_argument("--cnn-layers", nargs="+", help="the CNN's layers to probe, in depth order")
    parser.add_argument("--train-seconds", type=float, help="no model given: train stand-ins this long each")
    parser.add_argument("--num-images", type=int, default=100, help="test images analysed (figures show 8)")
    parser.add_argument("--layer", type=int, default=-1, help="block whose per-head attention is drawn")
    args = parser.parse_args()
    if bool(args.model) == bool(args.train_seconds):
        parser.error("give a model path or --train-seconds, not both or neither")
    if bool(args.cnn) != bool(args.cnn_layers):
        parser.error("--cnn and --cnn-layers go together")
    out = pathlib.Path(args.out)
    folder = DATA / "fashion-mnist"
    if not folder.is_dir():
        parser.error(f"Fashion-MNIST not found at {folder}; set KERAS_VIT_DATA to the folder holding fashion-mnist/")
    test = fashion_mnist("test", folder)
    images = test[0][one_per_class_first(test[1], args.num_images)]

    compare = {}
    if args.model:
        model = keras.saving.load_model(args.model, compile=False)
        if args.cnn:
            cnn = keras.saving.load_model(args.cnn, compile=False)
            compare[cnn.name] = (cnn, args.cnn_layers)
    else:
        keras.utils.set_random_seed(0)
        train, held_out = fashion_mnist("train", folder), (test[0][-2000:], test[1][-2000:])
        model = keras_vit.build_vit("vit_nano_patch4_28", num_classes=10)
        cnn = stand_in_cnn()
        out.mkdir(parents=True, exist_ok=True)
        for stand_in in (model, cnn):
            train_stand_in(stand_in, args.train_seconds, train, held_out)
            stand_in.save(out / f"{stand_in.name}.keras")
        compare[cnn.name] = (cnn, [f"conv_{index}" for index in range(6)])
    for path in write_report(model, images, out, layer=args.layer, compare=compare):
        print(path)


if __name__ == "__main__":
    main()
