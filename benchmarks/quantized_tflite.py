"""TFLite quantization options of a trained Fashion-MNIST ViT against its fp32 export: batch-1 speed and
top-1 agreement with Keras on the real test set.

    PYTHONPATH=$PWD python benchmarks/quantized_tflite.py --model runs/fashion_mnist_vit/model.keras

Every variant is converted here from the same model (TensorFlow backend, in process), then all are timed
in the same run, round-robin (one call of each in turn, `--calls` rounds), so that a change in the
machine's load hits every variant alike; the figure is each variant's median over its calls and its
speed-up is the fp32 export's median over its own. Agreement and accuracy are on `--samples` test images
(default: all 10,000), in batches. Variants:

- `fp32`: what `keras_vit.export(format="tflite")` writes (dynamic batch);
- `fp32 batch-1`: a static batch-1 signature (no shape-computing ops before each reshape);
- `dynamic`: int8 weights, activations quantized on the fly (`quantize="dynamic"`);
- `int8`: full integer, per-channel weights, calibrated on `--calibration` training images;
- `int8 float-norm`: full integer except layer norms, softmax and GELU, kept in float (TFLite's
  quantization debugger's deny-lists);
- `int16x8`: int8 weights with int16 activations (TFLite's 16x8 mode);
each of the quantized ones with a static batch-1 signature (`--dynamic-batch` for the others as well).
"""

import argparse
import os
import statistics
import sys
import time

os.environ["KERAS_BACKEND"] = "tensorflow"  # the converters run in this process
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

DATA = os.environ.get("KERAS_VIT_DATA", os.path.join("..", "shared", "data"))
# Ops kept in float by the `int8 float-norm` variant: the statistics of layer norm, softmax and GELU,
# where one int8 scale per tensor loses most.
FLOAT_OPS = ["MEAN", "SQUARED_DIFFERENCE", "RSQRT", "SOFTMAX", "GELU", "ERF", "POW", "SUB", "MUL", "ADD"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a trained Fashion-MNIST model (.keras)")
    parser.add_argument("--data-dir", default=DATA, help="the folder holding fashion-mnist/")
    parser.add_argument("--samples", type=int, default=10_000, help="test images for agreement and accuracy")
    parser.add_argument("--calibration", type=int, default=500, help="training images for int8 calibration")
    parser.add_argument("--calls", type=int, default=300, help="timed batch-1 calls per variant")
    parser.add_argument("--threads", type=int, default=1, help="LiteRT interpreter threads")
    parser.add_argument("--variants", default=None, help="comma-separated subset of the variants")
    parser.add_argument("--dynamic-batch", action="store_true", help="quantized variants with a dynamic batch too")
    return parser.parse_args(argv)


def converter(model, batch, representative=None):
    """TFLite's converter of `model` through a SavedModel (as `model.export(format="litert")` converts), with
    a signature of batch size `batch` (None: dynamic)."""
    import tempfile

    import tensorflow as tf

    height, width, channels = (int(d) for d in model.inputs[0].shape[1:])
    folder = tempfile.mkdtemp()
    signature = [tf.TensorSpec((batch, height, width, channels), tf.float32, name="images")]
    model.export(folder, format="tf_saved_model", input_signature=signature, verbose=False)
    result = tf.lite.TFLiteConverter.from_saved_model(folder)
    result.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if representative is not None:
        result.representative_dataset = lambda: ([image[None].astype("float32")] for image in representative)
    return result


def convert(model, variant, batch, calibration):
    """The flatbuffer (bytes) of `variant` with a signature of batch size `batch` (None: dynamic)."""
    import tensorflow as tf

    if variant == "fp32":
        return converter(model, batch).convert()
    if variant == "dynamic":
        conv = converter(model, batch)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        return conv.convert()
    conv = converter(model, batch, calibration)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "int8":
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        return conv.convert()
    if variant == "int16x8":
        conv.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        return conv.convert()
    if variant == "int8 float-norm":
        options = tf.lite.experimental.QuantizationDebugOptions(denylisted_ops=FLOAT_OPS)
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=conv, debug_dataset=conv.representative_dataset, debug_options=options
        )
        return debugger.get_nondebug_quantized_model()
    raise ValueError(f"unknown variant {variant!r}")


def runner(flatbuffer, threads):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=flatbuffer, num_threads=threads)
    signature = interpreter.get_signature_runner()
    ((name, details),) = signature.get_input_details().items()
    (output,) = signature.get_output_details()
    batch = int(details["shape"][0])

    def predict(images):
        if batch != 1 or len(images) == 1:
            return np.asarray(signature(**{name: images.astype(details["dtype"])})[output])
        return np.concatenate([predict(image[None]) for image in images])

    return predict


def main(argv=None):
    args = parse_args(argv)
    import keras

    import keras_vit
    from keras_vit.data import fashion_mnist_split

    folder = os.path.join(args.data_dir, "fashion-mnist")
    images, labels = fashion_mnist_split(folder, "test", limit=args.samples)
    calibration, _ = fashion_mnist_split(folder, "train", limit=args.calibration)
    images, calibration = images.astype("float32"), calibration.astype("float32")
    model = keras_vit.load_model(args.model)
    reference = np.argmax(keras.ops.convert_to_numpy(model.predict(images, batch_size=250, verbose=0)), -1)
    names = ["fp32", "fp32 batch-1", "dynamic", "int8", "int8 float-norm", "int16x8"]
    if args.variants:
        names = [name for name in names if name in args.variants.split(",")]
    variants = {}
    for name in names:
        base = name.replace(" batch-1", "")
        batches = [None] if name == "fp32" else [1] + ([None] if args.dynamic_batch and name != "fp32 batch-1" else [])
        for batch in batches:
            label = name if batch == 1 or name == "fp32" else f"{name} (dynamic batch)"
            start = time.perf_counter()
            try:
                flatbuffer = convert(model, base, batch, calibration)
            except Exception as error:  # a converter that cannot do this variant: reported, not fatal
                print(f"{label}: conversion failed: {str(error).splitlines()[0][:300]}", flush=True)
                continue
            variants[label] = dict(flatbuffer=flatbuffer, seconds=time.perf_counter() - start)
            print(f"{label}: converted in {variants[label]['seconds']:.0f} s, {len(flatbuffer) / 1e6:.3f} MB", flush=True)
    for label in list(variants):
        variant = variants[label]
        predict = runner(variant["flatbuffer"], args.threads)
        try:
            predictions = np.concatenate([predict(images[i : i + 250]).argmax(-1) for i in range(0, len(images), 250)])
        except RuntimeError as error:  # converted, but LiteRT's kernels cannot run it
            print(f"{label}: does not run: {str(error).splitlines()[0][:300]}", flush=True)
            del variants[label]
            continue
        variant.update(predict=predict, agreement=float(np.mean(predictions == reference)),
                       accuracy=float(np.mean(predictions == labels)), times=[])  # fmt: skip
    sample = images[:1]
    for variant in variants.values():  # warm-up
        for _ in range(20):
            variant["predict"](sample)
    load_before = os.getloadavg()[0]
    for _ in range(args.calls):
        for variant in variants.values():
            start = time.perf_counter()
            variant["predict"](sample)
            variant["times"].append((time.perf_counter() - start) * 1e3)
    baseline = statistics.median(variants["fp32"]["times"]) if "fp32" in variants else None
    print(f"\n{args.model}: {len(images)} test images, {args.calibration} calibration images, {args.calls} batch-1 "
          f"calls per variant round-robin, {args.threads} thread(s); load average {load_before:.1f} -> "
          f"{os.getloadavg()[0]:.1f}; Keras test accuracy {np.mean(reference == labels):.2%}\n")
    print("| variant | size (MB) | batch-1 median (ms) | best (ms) | speed-up vs fp32 | top-1 agreement | test accuracy |")
    print("|---|---|---|---|---|---|---|")
    for label, variant in variants.items():
        median = statistics.median(variant["times"])
        speedup = f"{baseline / median:.2f}x" if baseline else "—"
        print(f"| {label} | {len(variant['flatbuffer']) / 1e6:.3f} | {median:.3f} | {min(variant['times']):.3f} | "
              f"{speedup} | {variant['agreement']:.2%} | {variant['accuracy']:.2%} |")
    return variants


if __name__ == "__main__":
    sys.exit(main() and 0)
