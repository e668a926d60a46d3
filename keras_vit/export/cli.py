"""`keras-vit export MODEL.keras --format ... [--quantize ...] [--out PATH]`."""

import pathlib

from keras_vit.export.api import FORMATS, QUANTIZATIONS, SUFFIXES, export


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "export",
        help="export a .keras model to SavedModel, TFLite or ONNX and check it against the model",
        description="Export a .keras model and check the artifact against it (max abs difference, "
        "top-1 agreement, size, batch-1 latency). Fastest under KERAS_BACKEND=tensorflow; under "
        "JAX or torch the writers run in a TensorFlow subprocess.",
    )
    parser.add_argument("model", help="a .keras file")
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--quantize", choices=QUANTIZATIONS, help="TFLite only; default: float32")
    parser.add_argument("--out", help="output path; default: beside MODEL, named after format and quantization")
    parser.add_argument(
        "--representative-data",
        help=".npy file of real images (N, H, W, C), raw pixels as the model takes them: calibration for "
        "--quantize int8 (required there) and samples for the check",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.add_argument("--no-verify", dest="verify", action="store_false", help="skip the check")
    parser.set_defaults(handler=run)
    return parser


def default_output(model_path, format, quantize=None):
    """`dir/model.keras` -> `dir/model_saved_model`, `dir/model_int8.tflite`, `dir/model.onnx`."""
    model_path = pathlib.Path(model_path)
    stem = model_path.stem + (f"_{quantize}" if quantize else "")
    if format == "saved_model":
        return model_path.with_name(f"{stem}_saved_model")
    return model_path.with_name(stem + SUFFIXES[format])


def run(args):
    from keras_vit.files import load_npy
    from keras_vit.models import load_model

    images = load_npy(args.representative_data, "--representative-data") if args.representative_data else None
    model = load_model(args.model)
    report = export(
        model,
        args.out or default_output(args.model, args.format, args.quantize),
        format=args.format,
        quantize=args.quantize,
        representative_data=images,
        verify=args.verify,
        overwrite=args.overwrite,
    )
    print(report)
    return 0
