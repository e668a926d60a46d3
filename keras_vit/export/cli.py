"""`keras-vit export MODEL.keras --format ... [--quantize ...] [--out PATH]`."""

import argparse
import pathlib
import sys

from keras_vit.export.api import FORMATS, INPUT_DTYPES, QUANTIZATIONS, SUFFIXES, export

# Held-out images a run's export is checked on (and calibrated on, for int8) when none are given.
VERIFY_IMAGES = 1000
CALIBRATION_IMAGES = 200


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "export",
        help="export a .keras model to SavedModel, TFLite or ONNX and check it against the model",
        description="Export a .keras model and check the artifact against it (max abs difference, "
        "top-1 agreement, size, batch-1 latency). The artifact takes raw pixels and carries the model's "
        "class names and preprocessing; a labels file is written beside it. A model in a run folder "
        "(beside its config.json) is checked on held-out images of the run's data by default. Fastest under "
        "KERAS_BACKEND=tensorflow; under JAX or torch the writers run in a TensorFlow subprocess.",
    )
    parser.add_argument("model", help="a .keras file")
    parser.add_argument("--format", required=True, choices=FORMATS, help="the artifact's format")
    parser.add_argument("--quantize", choices=QUANTIZATIONS, default=None, help="TFLite only; default: float32")
    parser.add_argument("--input-dtype", choices=INPUT_DTYPES, default="float32",
                        help="the dtype of the artifact's image input (uint8: the mobile convention)")  # fmt: skip
    parser.add_argument("--out", default=None,
                        help="output path; default: beside MODEL, named after format and quantization")  # fmt: skip
    parser.add_argument(
        "--representative-data", default=None,
        help=".npy file of real images (N, H, W, C), raw pixels: calibration for --quantize int8; default: "
        f"{CALIBRATION_IMAGES} training images of the run's data",
    )  # fmt: skip
    parser.add_argument(
        "--verify-data", default=None,
        help=f".npy file of images (raw pixels) to check the artifact on; default: {VERIFY_IMAGES} held-out test "
        "images of the run's data, else --representative-data, else 16 random images",
    )  # fmt: skip
    parser.add_argument("--min-top1-agreement", type=float, default=0.99,
                        help="top-1 agreement with the model a quantized artifact must reach")  # fmt: skip
    parser.add_argument("--max-abs-diff", type=float, default=1e-4,
                        help="largest output difference from the model a float32 artifact may have")  # fmt: skip
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.add_argument("--verify", action=argparse.BooleanOptionalAction, default=True,
                        help="check the artifact against the model before it is written (--no-verify: skip)")  # fmt: skip
    parser.set_defaults(handler=run)
    return parser


def default_output(model_path, format, quantize=None):
    """`dir/model.keras` -> `dir/model_saved_model`, `dir/model_int8.tflite`, `dir/model.onnx`."""
    model_path = pathlib.Path(model_path)
    stem = model_path.stem + (f"_{quantize}" if quantize else "")
    if format == "saved_model":
        return model_path.with_name(f"{stem}_saved_model")
    return model_path.with_name(stem + SUFFIXES[format])


def run_data_images(model_path, image_shape, split, count):
    """The first `count` images (raw pixels, the model's size and channels) of a `split` of the data the
    run beside `model_path` trained on (its `config.json`), or None when the folder holds no run."""
    config_path = pathlib.Path(model_path).with_name("config.json")
    if not config_path.is_file():
        return None
    import numpy as np

    from keras_vit.data import load_source
    from keras_vit.inference.images import match_channels
    from keras_vit.training.config import TrainConfig

    config = TrainConfig.from_json(config_path.read_text())
    train, _, test, _ = load_source(config.data, config.data_dir, image_size=image_shape[:2],
                                    test_split=config.test_split)  # a flat image folder: the run's test images
    images = np.stack([image for image, _ in (test if split == "test" else train).take(count).as_numpy_iterator()])
    return match_channels(images, image_shape[2]), config.data


def run(args):
    from keras_vit.files import load_npy
    from keras_vit.models import load_model

    model = load_model(args.model)
    image_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    representative = load_npy(args.representative_data, "--representative-data") if args.representative_data else None
    verify = load_npy(args.verify_data, "--verify-data") if args.verify_data else None
    if args.verify and verify is None:
        held_out = run_data_images(args.model, image_shape, "test", VERIFY_IMAGES)
        if held_out is not None:
            verify, source = held_out
            print(f"checking on {len(verify)} held-out test images of {source!r}", file=sys.stderr)
        elif representative is None:
            print("no run data beside the model and no --verify-data: checking on 16 random images, which say "
                  "little about a quantized artifact", file=sys.stderr)  # fmt: skip
    if args.quantize == "int8" and representative is None:
        calibration = run_data_images(args.model, image_shape, "train", CALIBRATION_IMAGES)
        representative = None if calibration is None else calibration[0]
    report = export(
        model,
        args.out or default_output(args.model, args.format, args.quantize),
        format=args.format,
        quantize=args.quantize,
        representative_data=representative,
        verify=args.verify,
        verify_data=verify,
        overwrite=args.overwrite,
        max_abs_diff=args.max_abs_diff,
        min_top1_agreement=args.min_top1_agreement,
        input_dtype=args.input_dtype,
    )
    print(report)
    return 0
