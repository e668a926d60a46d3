"""`keras-vit predict`, `keras-vit evaluate` and `keras-vit list`."""

import csv
import io
import json
import sys

from keras_vit.inference.runner import ARTIFACT_KINDS

OUTPUT_FORMATS = ("table", "json", "csv")


def add_parsers(subparsers):
    predict = subparsers.add_parser(
        "predict",
        help="the top classes of image files, folders or globs, from any model or export",
        description=f"Classify images with MODEL ({ARTIFACT_KINDS}); class names and preprocessing come "
        "from the model itself. Images are resized to the model's size and converted to its channels.",
    )  # fmt: skip
    predict.add_argument("model", help=f"the model: {ARTIFACT_KINDS}")
    predict.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders (searched recursively) or "
                         "glob patterns (quote them: 'photos/*.jpg')")  # fmt: skip
    predict.add_argument("--top-k", type=int, default=5, help="classes per image (capped at the class count)")
    predict.add_argument("--format", choices=OUTPUT_FORMATS, default="table",
                         help="a readable table, or one JSON / CSV record per image")  # fmt: skip
    predict.add_argument("--batch-size", type=int, default=64, help="images per call of the model")
    predict.set_defaults(handler=run_predict)

    evaluate = subparsers.add_parser(
        "evaluate",
        help="top-1 / top-5 and per-class accuracy, loss and a confusion matrix on a data source",
        description=f"Evaluate MODEL ({ARTIFACT_KINDS}) on a data source train reads (its test split by "
        "default); prints the figures and writes evaluation.json and confusion_matrix.png into --out.",
    )  # fmt: skip
    evaluate.add_argument("model", help=f"the model: {ARTIFACT_KINDS}")
    evaluate.add_argument("--data", default="default",
                          help="default | fashion_mnist_idx | folder | tfds:<name> (as keras-vit train)")  # fmt: skip
    evaluate.add_argument("--data-dir", default=None, help="where the data of --data lives")
    evaluate.add_argument("--split", choices=("test", "train"), default="test", help="the split to evaluate")
    evaluate.add_argument("--batch-size", type=int, default=128, help="images per call of the model")
    evaluate.add_argument("--out", default=None, help="folder for evaluation.json and confusion_matrix.png "
                          "(default: beside MODEL, MODEL_evaluation/)")  # fmt: skip
    evaluate.set_defaults(handler=run_evaluate)

    listing = subparsers.add_parser(
        "list", help="the named model configs, with image size and parameters",
        description="List the named configs (timm's names and parameter counts, at 1000 classes).",
    )  # fmt: skip
    listing.add_argument("pattern", nargs="?", default=None, help="fnmatch wildcards, e.g. 'vit_*_patch16*'")
    listing.set_defaults(handler=run_list)


def run_predict(args):
    from keras_vit.inference.predict import predict

    records = predict(args.model, args.inputs, top_k=args.top_k, batch_size=args.batch_size, progress=_progress())
    print(format_records(records, args.format), end="")
    return 0


def _progress():
    """A progress line on stderr when it is a terminal (nothing in pipes and logs)."""
    if not sys.stderr.isatty():
        return None

    def show(done, total):
        print(f"\r{done}/{total} images", end="\n" if done == total else "", file=sys.stderr, flush=True)

    return show


def format_records(records, output_format):
    """`predict`'s records as a table (text), JSON (a list) or CSV (one row per image)."""
    if output_format == "json":
        return json.dumps(records, indent=1) + "\n"
    top_k = max((len(record["top_k"]) for record in records), default=0)
    if output_format == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["image"] + [f"{kind}_{rank}" for rank in range(1, top_k + 1) for kind in ("label", "probability")])
        for record in records:
            writer.writerow([record["image"]] + [value for entry in record["top_k"]
                                                 for value in (entry["label"], f"{entry['probability']:.6f}")])  # fmt: skip
        return out.getvalue()
    lines = []
    for record in records:
        lines.append(record["image"])
        lines += [f"  {entry['probability']:7.2%}  {entry['label']}" for entry in record["top_k"]]
    return "\n".join(lines) + "\n"


def run_evaluate(args):
    import pathlib

    from keras_vit.inference.evaluate import evaluate, write_evaluation

    result = evaluate(args.model, data=args.data, data_dir=args.data_dir, split=args.split, batch_size=args.batch_size)
    model = pathlib.Path(args.model)
    out = args.out or model.with_name(model.stem + "_evaluation")
    print(f"{result['model']} on {result['data']} ({result['split']}, {result['num_images']} images)")
    print(f"top1_accuracy: {result['top1_accuracy']:.4f}")
    print(f"top5_accuracy: {result['top5_accuracy']:.4f}")
    print(f"loss: {result['loss']:.4f}")
    for name, accuracy in result["per_class_accuracy"].items():
        print(f"  {'—' if accuracy is None else f'{accuracy:7.2%}'}  {name}")
    for path in write_evaluation(result, out):
        print(path)
    return 0


def run_list(args):
    from keras_vit.models import get_config, list_configs
    from keras_vit.performance.params import parameter_count

    names = list_configs(args.pattern)
    if not names:
        raise ValueError(f"No config matches {args.pattern!r}; `keras-vit list` shows them all.")
    width = max(len(name) for name in names)
    print(f"{'name':<{width}}  {'image':>9}  {'patch':>5}  {'dim':>5}  {'depth':>5}  {'heads':>5}  {'params':>13}")
    for name in names:
        config = get_config(name)
        image = config.image_size if isinstance(config.image_size, int) else "x".join(map(str, config.image_size))
        patch = config.patch_size if isinstance(config.patch_size, int) else "x".join(map(str, config.patch_size))
        dim, depth, heads = _sizes(config)
        print(f"{name:<{width}}  {image!s:>9}  {patch!s:>5}  {dim!s:>5}  {depth!s:>5}  {heads!s:>5}  "
              f"{parameter_count(config):>13,}")
    return 0


def _sizes(config):
    """`(dim, depth, heads)` of a row: a Swin's first width, its blocks in all, its heads per stage."""
    from keras_vit.models import SwinConfig

    if isinstance(config, SwinConfig):
        return config.embed_dim, sum(config.depths), "/".join(map(str, config.num_heads))
    return config.dim, config.depth, config.num_heads
