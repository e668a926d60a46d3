"""Every `keras_vit.inspect` analysis of a trained ViT, on real Fashion-MNIST test images.

    python recipes/inspect_vit.py MODEL.keras --out runs/inspect [--cnn CNN.keras [--cnn-layers L1 L2 ...]]

MODEL.keras is the model the Fashion-MNIST training recipe writes; `--cnn` adds a CNN (e.g. the DeiT
teacher `keras-vit train --model resnet` writes, whose block outputs are probed unless `--cnn-layers`
names others) to the frequency figure. Without a model path, `--train-seconds N` first trains a
stand-in ViT (vit_nano_patch4_28) and a stand-in ResNet for N seconds each and inspects those.
The models take raw pixels; the data folder is $KERAS_VIT_DATA/fashion-mnist (default
../shared/data/fashion-mnist beside the repository).
"""

if __name__ == "__main__":  # before anything imports Keras: TensorFlow writes its start-up lines on import
    import keras_vit_cli

    keras_vit_cli.filter_startup_noise()

import argparse
import os
import pathlib
import time

import keras
import numpy as np

import keras_vit
from keras_vit.data import fashion_mnist_split
from keras_vit.inspect import write_report

DATA = pathlib.Path(os.environ.get("KERAS_VIT_DATA", pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"))


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
    if args.cnn_layers and not args.cnn:
        parser.error("--cnn-layers names layers of --cnn")
    out = pathlib.Path(args.out)
    folder = DATA / "fashion-mnist"
    if not folder.is_dir():
        parser.error(f"Fashion-MNIST not found at {folder}; set KERAS_VIT_DATA to the folder holding fashion-mnist/")
    test = fashion_mnist_split(folder, "test")
    images = test[0][one_per_class_first(test[1], args.num_images)]

    compare = {}
    if args.model:
        model = keras_vit.load_model(args.model)
        if args.cnn:
            cnn = keras_vit.load_model(args.cnn)
            compare[cnn.name] = (cnn, args.cnn_layers)
    else:
        keras.utils.set_random_seed(0)
        train, held_out = fashion_mnist_split(folder, "train"), (test[0][-2000:], test[1][-2000:])
        model = keras_vit.build_vit("vit_nano_patch4_28", num_classes=10)
        cnn = keras_vit.build_resnet(num_classes=10, image_size=28, channels=1, widths=(32, 64, 128))
        out.mkdir(parents=True, exist_ok=True)
        for stand_in in (model, cnn):
            train_stand_in(stand_in, args.train_seconds, train, held_out)
            stand_in.save(out / f"{stand_in.name}.keras")
        compare[cnn.name] = (cnn, None)  # its feature_layers: the block outputs
    for path in write_report(model, images, out, layer=args.layer, compare=compare):
        print(path)


if __name__ == "__main__":
    main()
