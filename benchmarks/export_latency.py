"""Batch-1 latency, size and top-1 agreement of every export of a trained Fashion-MNIST ViT.

Rows: Keras `predict_on_batch` under each backend (fp32), the SavedModel, TFLite fp32 /
float16 / dynamic / int8 (calibrated on real training images) and ONNX. Agreement is the
fraction of real test images whose top-1 class matches Keras (TensorFlow backend);
accuracy is against the true labels. Latency is the median (and best) of `--runs` batch-1 calls on
this machine's CPUs, which others may share: the script prints `uptime` before and after.

    PYTHONPATH=$PWD python benchmarks/export_latency.py --model /tmp/nano.keras
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

if __name__ == "__main__" and "--keras-only" not in sys.argv:
    os.environ["KERAS_BACKEND"] = "tensorflow"  # the exports are written in this process
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_vit  # noqa: E402
from keras_vit.data import fashion_mnist_split  # noqa: E402
from keras_vit.export import load_artifact  # noqa: E402
from keras_vit.export.timing import latencies_ms  # noqa: E402

EXPORTS = [
    ("SavedModel", "saved_model", None, "saved_model"),
    ("TFLite fp32", "tflite", None, "fp32.tflite"),
    ("TFLite float16", "tflite", "float16", "float16.tflite"),
    ("TFLite dynamic", "tflite", "dynamic", "dynamic.tflite"),
    ("TFLite int8", "tflite", "int8", "int8.tflite"),
    ("ONNX", "onnx", None, "model.onnx"),
]
BACKENDS = ("tensorflow", "jax", "torch")


def timed_row(predict, images, runs, size):
    """Batch-1 latency (median and best of `runs`), predictions on `images` and size in bytes."""
    times = latencies_ms(predict, images[:1], runs)
    predictions = np.concatenate([np.asarray(predict(images[i : i + 250])).argmax(-1) for i in range(0, len(images), 250)])
    return dict(median_ms=float(np.median(times)), best_ms=float(times.min()), predictions=predictions.tolist(), size=size)


def keras_row(args, images):
    """The `.keras` model run by `predict_on_batch` under the current backend."""
    model = keras_vit.load_model(args.model)
    predict = lambda batch: keras.ops.convert_to_numpy(model.predict_on_batch(batch))  # noqa: E731
    return timed_row(predict, images, args.runs, os.path.getsize(args.model))


def keras_row_in_subprocess(args, backend):
    env = {**os.environ, "KERAS_BACKEND": backend}
    command = [sys.executable, __file__, "--keras-only", *sys.argv[1:]]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a .keras model trained on Fashion-MNIST")
    parser.add_argument("--data-dir", default=os.environ.get("KERAS_VIT_DATA", os.path.join("..", "shared", "data")))
    parser.add_argument("--samples", type=int, default=1000, help="test images for agreement and accuracy")
    parser.add_argument("--calibration", type=int, default=200, help="training images for int8 calibration")
    parser.add_argument("--runs", type=int, default=100, help="timed batch-1 calls per row")
    parser.add_argument("--keras-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    images, labels = fashion_mnist_split(os.path.join(args.data_dir, "fashion-mnist"), "test", limit=args.samples)
    if args.keras_only:
        print(json.dumps(keras_row(args, images)))
        return

    print("load before:", uptime())
    calibration, _ = fashion_mnist_split(os.path.join(args.data_dir, "fashion-mnist"), "train", limit=args.calibration)
    rows = {f"Keras {backend}": keras_row_in_subprocess(args, backend) for backend in BACKENDS}
    reference = np.array(rows["Keras tensorflow"]["predictions"])
    model = keras_vit.load_model(args.model)
    with tempfile.TemporaryDirectory() as directory:
        for name, format, quantize, filename in EXPORTS:
            report = keras_vit.export(
                model,
                os.path.join(directory, filename),
                format=format,
                quantize=quantize,
                representative_data=calibration,
                verify_data=images,
                max_abs_diff=np.inf,  # report, never fail: the targets are checked below
                min_top1_agreement=0.0,
                latency_runs=1,
            )
            rows[name] = timed_row(load_artifact(report.path), images, args.runs, report.file_size_bytes)
    print("load after: ", uptime())

    keras_fastest = min(rows[f"Keras {backend}"]["median_ms"] for backend in BACKENDS)
    print(f"\n{len(images)} Fashion-MNIST test images, {args.calibration} calibration images, "
          f"{args.runs} batch-1 calls per row; speed-up of the median vs the fastest Keras backend\n")
    print("| model | size (MB) | batch-1 median (ms) | batch-1 best (ms) | speed-up | top-1 agreement | test accuracy |")
    print("|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        predictions = np.asarray(row["predictions"])
        print(
            f"| {name} | {row['size'] / 1e6:.3f} | {row['median_ms']:.3f} | {row['best_ms']:.3f} "
            f"| {keras_fastest / row['median_ms']:.1f}x | {np.mean(predictions == reference):.2%} "
            f"| {np.mean(predictions == labels):.2%} |"
        )


if __name__ == "__main__":
    main()
