"""Write the reference exports in saved_models/ from a ViT trained on Fashion-MNIST.

Writes `.keras` (weights and config, no optimizer state), a SavedModel, TFLite fp32, a quantized
TFLite (`--quantize`, calibrated on real training images where it needs calibration) and ONNX, each
carrying the class names and preprocessing (and a labels file beside it) and each checked against the
Keras model on the whole real Fashion-MNIST test set with the export's own default gates; then measures
each one's accuracy on that test set and writes `manifest.json` (read by
tests/export/test_saved_models.py) and `README.md`.

    PYTHONPATH=$PWD python recipes/export_reference.py MODEL.keras [--out saved_models] [--overwrite]
"""

if __name__ == "__main__":  # before anything imports Keras: TensorFlow writes its start-up lines on import
    import keras_vit_cli

    keras_vit_cli.filter_startup_noise()

import argparse
import json
import os
import pathlib
import shlex
import sys

os.environ["KERAS_BACKEND"] = "tensorflow"  # the exports are written in this process
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import keras_vit  # noqa: E402
from keras_vit.data import fashion_mnist_split  # noqa: E402
from keras_vit.export import load_artifact  # noqa: E402
from keras_vit.files import write_text  # noqa: E402

NAME = "vit_fashion_mnist"
SLICE = 500  # test images the saved_models test re-checks


def artifacts(quantize):
    """(file, format, quantize) of each export."""
    return [
        (f"{NAME}_saved_model", "saved_model", None),
        (f"{NAME}_fp32.tflite", "tflite", None),
        (f"{NAME}_{quantize}.tflite", "tflite", quantize),
        (f"{NAME}.onnx", "onnx", None),
    ]


def accuracy(predict, images, labels, batch_size=500):
    predictions = np.concatenate([predict(images[i : i + batch_size]).argmax(-1) for i in range(0, len(images), batch_size)])
    return float(np.mean(predictions == labels)), float(np.mean(predictions[:SLICE] == labels[:SLICE]))


def figure(value, spec):
    return "—" if value is None else format(value, spec)


def write_readme(out, entries, command, trained_by):
    rows = "\n".join(
        f"| `{e['file']}` | {e['format']} {e['quantize'] or ''} | {e['size_bytes'] / 1e6:.2f} | {e['test_accuracy']:.2%} "
        f"| {figure(e['top1_agreement'], '.2%')} | {figure(e['latency_ms'], '.2f')} |"
        for e in entries
    )
    write_text(out / "README.md",
        f"""# Reference exports

A ViT trained on Fashion-MNIST ({trained_by}), exported to each format and checked against the Keras model.
Test accuracy is on the full real Fashion-MNIST test set (10,000 images); top-1 agreement is
with the Keras model on the same 10,000 images; latency is the median batch-1 call on
the machine that wrote these files (shared CPUs: indicative only). Every export passed
the gates of `keras_vit.export` on those images (float32: max |diff| <= 1e-4; quantized:
top-1 agreement >= 99%), carries the class names and preprocessing in its metadata and has
its labels file beside it (`*.labels.txt`).

| file | format | size (MB) | test accuracy | top-1 agreement | batch-1 latency (ms) |
|---|---|---|---|---|---|
{rows}

Regenerate (overwrites these files) with

    {command}

`tests/export/test_saved_models.py` loads each file and checks its accuracy on the first
{SLICE} test images against `manifest.json`.
"""
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="the trained .keras model (28x28x1 raw pixels -> 10 logits)")
    parser.add_argument("--out", default="saved_models")
    parser.add_argument("--data-dir", default=os.environ.get("KERAS_VIT_DATA", os.path.join("..", "shared", "data")))
    parser.add_argument("--calibration", type=int, default=500, help="training images for int8 calibration")
    parser.add_argument("--quantize", default="dynamic", choices=["float16", "dynamic", "int8"],
                        help="the quantized TFLite export (benchmarks/quantized_tflite.py compares them)")  # fmt: skip
    parser.add_argument("--trained-by", default="the Fashion-MNIST recipe, recipes/fashion_mnist_vit.py",
                        help="how the model was trained, for README.md")  # fmt: skip
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args()

    out = pathlib.Path(args.out)
    keras_path = out / f"{NAME}.keras"
    if keras_path.exists() and not args.overwrite:
        raise SystemExit(f"{keras_path} exists; pass --overwrite to regenerate {out}/.")
    out.mkdir(parents=True, exist_ok=True)
    images, labels = fashion_mnist_split(os.path.join(args.data_dir, "fashion-mnist"), "test")
    calibration, _ = fashion_mnist_split(os.path.join(args.data_dir, "fashion-mnist"), "train", limit=args.calibration)

    model = keras_vit.load_model(args.model)
    model.save(keras_path)  # reloaded without optimizer state: weights and config only
    full, head = accuracy(lambda x: model.predict(x, verbose=0), images, labels)
    entries = [dict(file=keras_path.name, format="keras", quantize=None, size_bytes=keras_path.stat().st_size,
                    test_accuracy=full, slice_accuracy=head, top1_agreement=None, latency_ms=None)]
    for file, format, quantize in artifacts(args.quantize):
        report = keras_vit.export(
            model,
            out / file,
            format=format,
            quantize=quantize,
            representative_data=calibration if quantize == "int8" else None,
            verify_data=images,
            overwrite=args.overwrite,
            latency_runs=200,
        )
        print(report)
        full, head = accuracy(load_artifact(report.path), images, labels)
        entries.append(dict(file=file, format=format, quantize=quantize, size_bytes=report.file_size_bytes,
                            test_accuracy=full, slice_accuracy=head, top1_agreement=report.top1_agreement,
                            latency_ms=report.latency_ms, max_abs_diff=report.max_abs_diff,
                            calibration_images=args.calibration if quantize == "int8" else None))
    for entry in entries:
        print(f"{entry['file']}: test accuracy {entry['test_accuracy']:.2%}")
    manifest = dict(slice=SLICE, input="raw_pixels", artifacts=entries)
    write_text(out / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    command = "PYTHONPATH=$PWD python " + shlex.join([sys.argv[0], *sys.argv[1:]])
    write_readme(out, entries, command, args.trained_by)


if __name__ == "__main__":
    main()
