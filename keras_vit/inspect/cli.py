"""`keras-vit inspect MODEL.keras IMAGE... --out DIR`: every analysis of `keras_vit.inspect` on image files."""

import pathlib

import numpy as np

from keras_vit import files
from keras_vit.inference.images import load_images
from keras_vit.inspect.report import write_report

# The figures the explorer page shows beside the maps, when the run wrote them.
EXPLORER_FIGURES = {
    "attention_distance.png": "Mean attention distance",
    "frequency.png": "Fourier analysis of the feature maps",
    "hessian.png": "Hessian eigenvalues",
    "landscape.png": "Loss landscape",
}


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "inspect",
        help="attention maps, rollout, attention distance, position embeddings, frequency analysis, Hessian "
        "spectra, loss landscapes, and an attention explorer page",
        description="Run the analyses of keras_vit.inspect on a saved model and write PNG plots and their numbers "
        "(numbers.npz / .json; curvature.npz / .json for --hessian and --landscape) into --out. The attention "
        "analyses need a ViT or DeiT; --hessian and --landscape take any classifier.",
    )
    parser.add_argument("model", help="a saved model (.keras); it takes the images' raw pixels and preprocesses them")
    parser.add_argument("images", nargs="+", help="image files (PNG, JPEG, ...) of the model's input size")
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    parser.add_argument("--layer", type=int, default=-1, help="block whose per-head attention is drawn (default: last)")
    parser.add_argument("--resize", action="store_true", help="resize images to the model's input size")
    parser.add_argument("--compare-model", help="another saved model (e.g. a CNN) for the frequency, Hessian and "
                        "landscape figures")
    parser.add_argument("--compare-layers", nargs="+", default=None,
                        help="layers of --compare-model to probe, in depth order (default: a keras_vit model's "
                        "feature_layers)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--labels", nargs="+", default=None,
                        help="the images' classes (indices, or the model's class names), one per image: needed by "
                        "--hessian and --landscape, shown by --html")
    parser.add_argument("--hessian", action="store_true",
                        help="Hessian max-eigenvalue spectrum (per --batch-size mini-batch), trace and eigenvalue "
                        "density: hessian.png")
    parser.add_argument("--top-k", type=int, default=5, help="--hessian: eigenvalues per mini-batch (largest in "
                        "magnitude)")
    parser.add_argument("--trace-samples", type=int, default=20, help="--hessian: most Hutchinson samples")
    parser.add_argument("--density-steps", type=int, default=64, help="--hessian: Lanczos steps of the density")
    parser.add_argument("--landscape", action="store_true",
                        help="loss along filter-normalized random directions: landscape.png")
    parser.add_argument("--landscape-directions", type=int, choices=(1, 2), default=1)
    parser.add_argument("--landscape-steps", type=int, default=21, help="--landscape: points along each direction")
    parser.add_argument("--html", action="store_true",
                        help="explorer.html: one self-contained page to click through the attention of every block "
                        "and head, the rollout, the predictions and the figures")
    parser.set_defaults(handler=run)
    return parser


def parse_labels(labels, model, num_images):
    """`--labels` values (class indices or the model's class names) -> an int array, one per image."""
    if len(labels) != num_images:
        raise ValueError(f"Got {len(labels)} --labels for {num_images} images; give one per image.")
    names = model.class_names or []
    parsed = []
    for label in labels:
        if label in names:
            parsed.append(names.index(label))
        elif label.isdigit() and int(label) < model.output_shape[-1]:
            parsed.append(int(label))
        else:
            valid = f"0 .. {model.output_shape[-1] - 1}" + (f" or one of {', '.join(names)}" if names else "")
            raise ValueError(f"Label {label!r} is not a class of model {model.name!r}; valid: {valid}.")
    return np.array(parsed)


def run(args):
    from keras_vit.inspect.curvature_report import write_curvature_report
    from keras_vit.inspect.explorer import write_explorer
    from keras_vit.models import VisionTransformer, load_model

    if args.compare_layers and not args.compare_model:
        raise ValueError("--compare-layers names layers of --compare-model: give --compare-model too.")
    # Every file, before any is loaded.
    files.check_keras_file(args.model)
    if args.compare_model:
        files.check_keras_file(args.compare_model, "--compare-model")
    for path in args.images:
        files.require_file(path, "Image file", "an image file (PNG, JPEG, BMP, GIF, ...)")
    curvature = args.hessian or args.landscape
    if curvature and args.labels is None:
        raise ValueError("--hessian and --landscape need the images' classes: give --labels, one per image.")
    model = load_model(args.model)
    if args.html and not isinstance(model, VisionTransformer):
        raise ValueError(f"--html explores attention and needs a ViT or DeiT; {args.model} holds a "
                         f"{type(model).__name__}.")
    images = load_images(args.images, model.input_shape[1:], args.resize)
    labels = None if args.labels is None else parse_labels(args.labels, model, len(images))
    compare = {}
    if args.compare_model:
        other = load_model(args.compare_model)
        compare[other.name] = (other, args.compare_layers)
    out = pathlib.Path(args.out)
    paths = []
    # The attention analyses need a ViT; a CNN given with --hessian or --landscape gets those alone.
    if isinstance(model, VisionTransformer) or not curvature:
        paths += write_report(model, images, out, layer=args.layer, compare=compare, batch_size=args.batch_size)
    if curvature:
        models = {model.name: model, **{name: other for name, (other, _) in compare.items()}}
        paths += write_curvature_report(
            models, images, labels, out, hessian=args.hessian, landscape=args.landscape,
            batch_size=min(args.batch_size, len(images)), top_k=args.top_k, trace_samples=args.trace_samples,
            density_steps=args.density_steps, landscape_directions=args.landscape_directions,
            landscape_steps=args.landscape_steps,
        )  # fmt: skip
    if args.html:
        figures = [(title, out / name) for name, title in EXPLORER_FIGURES.items() if out / name in paths]
        paths.append(write_explorer(model, images, out / "explorer.html", labels=labels, figures=figures,
                                    batch_size=args.batch_size))  # fmt: skip
    for path in paths:
        print(path)
    return 0
