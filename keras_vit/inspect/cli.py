"""`keras-vit inspect MODEL.keras IMAGE... --out DIR`: every analysis of `keras_vit.inspect` on image files."""

import pathlib

from keras_vit.inference.images import load_images
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


def run(args):
    from keras_vit.models import load_model

    missing = [path for path in [args.model, args.compare_model, *args.images] if path and not pathlib.Path(path).is_file()]
    if missing:
        raise FileNotFoundError(f"No such file: {', '.join(missing)}.")
    if args.compare_layers and not args.compare_model:
        raise ValueError("--compare-layers names layers of --compare-model: give --compare-model too.")
    model = load_model(args.model)
    images = load_images(args.images, model.input_shape[1:], args.resize)
    compare = {}
    if args.compare_model:
        other = load_model(args.compare_model)
        compare[other.name] = (other, args.compare_layers)
    for path in write_report(model, images, args.out, layer=args.layer, compare=compare, batch_size=args.batch_size):
        print(path)
    return 0
