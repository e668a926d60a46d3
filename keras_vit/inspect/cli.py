"""`keras-vit inspect MODEL.keras IMAGE... --out DIR`: every analysis of `keras_vit.inspect` on image files."""

import keras
import numpy as np

from keras_vit import files
from keras_vit.inspect.report import write_report


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "inspect",
        help="attention maps, rollout, attention distance, position embeddings, frequency analysis",
        description="Run every analysis of keras_vit.inspect on a saved model and write PNG plots, "
        "numbers.npz and numbers.json into --out.",
    )
    parser.add_argument("model", help="a saved model (.keras); it takes the images' raw pixels and preprocesses them")
    parser.add_argument("images", nargs="+", help="image files (PNG, JPEG, ...) of the model's input size")
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    parser.add_argument("--layer", type=int, default=-1, help="block whose per-head attention is drawn (default: last)")
    parser.add_argument("--resize", action="store_true", help="resize images to the model's input size")
    parser.add_argument("--compare-model", help="another saved model (e.g. a CNN) for the frequency figure")
    parser.add_argument("--compare-layers", nargs="+", default=None,
                        help="layers of --compare-model to probe, in depth order (default: a keras_vit model's "
                        "feature_layers)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.set_defaults(handler=run)
    return parser


def load_images(paths, input_shape, resize):
    """Image files -> raw pixels, float32 `(B, H, W, C)` in [0, 255], for a model taking `input_shape`
    `(H, W, C)`, C 1 or 3. A file that is missing or no image PIL decodes is an error naming it."""
    height, width, channels = input_shape
    if channels not in (1, 3):
        raise ValueError(f"Image files can feed models with 1 or 3 channels; this model takes {channels}.")
    arrays = []
    for path in paths:
        image = files.load_image(path, color_mode="grayscale" if channels == 1 else "rgb")
        if image.size != (width, height):
            if not resize:
                raise ValueError(f"Image {path} is {image.size[0]}x{image.size[1]} pixels; the model takes "
                                 f"{width}x{height}. Pass --resize to resize it.")
            image = image.resize((width, height))
        arrays.append(keras.utils.img_to_array(image))
    return np.stack(arrays).astype("float32")


def run(args):
    from keras_vit.models import load_model

    if args.compare_layers and not args.compare_model:
        raise ValueError("--compare-layers names layers of --compare-model: give --compare-model too.")
    # Every file, before any is loaded.
    files.check_keras_file(args.model)
    if args.compare_model:
        files.check_keras_file(args.compare_model, "--compare-model")
    for path in args.images:
        files.require_file(path, "Image file", "an image file (PNG, JPEG, BMP, GIF, ...)")
    model = load_model(args.model)
    images = load_images(args.images, model.input_shape[1:], args.resize)
    compare = {}
    if args.compare_model:
        other = load_model(args.compare_model)
        compare[other.name] = (other, args.compare_layers)
    for path in write_report(model, images, args.out, layer=args.layer, compare=compare, batch_size=args.batch_size):
        print(path)
    return 0
