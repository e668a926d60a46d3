"""`keras-vit train`: a recipe or a named model config, with overrides, through `train()`."""

import argparse
import ast
import dataclasses
import json
import pathlib
import runpy

# The help of each TrainConfig field's flag (its default is added from TrainConfig()).
FIELD_HELP = {
    "name": "the run's name (the default output folder is runs/NAME)",
    "model": "a config name (keras-vit list), 'resnet', or 'auto' (the architecture of --checkpoint)",
    "checkpoint": "start from these pretrained weights (timm / transformers / npz file, or transformers folder)",
    "data": "default | fashion_mnist_idx | folder | tfds:<name>",
    "data_dir": "where the data of --data lives",
    "validation_split": "fraction of the training data held out (seeded) for per-epoch validation and best.keras, "
    "unless the data has its own validation split; 0: no validation (no best.keras)",
    "test_split": "test fraction of a flat image folder (DIR/<class>/*), the same images for every seed",
    "image_size": "resize the images to this size, e.g. 32 or '(32, 48)'",
    "augment": "none | flip | light | deit (keras_vit.data.AugmentConfig presets)",
    "epochs": "training epochs",
    "batch_size": "images per step on each replica",
    "base_learning_rate": "peak learning rate at a global batch of --base-batch-size (scaled linearly)",
    "base_batch_size": "the global batch at which the peak learning rate is --base-learning-rate",
    "weight_decay": "AdamW's decoupled weight decay (not on biases, norms, tokens, position embeddings)",
    "layer_decay": "layer-wise learning-rate decay in (0, 1] (None: off)",
    "warmup_epochs": "linear warm-up, in epochs, before the cosine decay",
    "label_smoothing": "soft training targets (1 - s) * one_hot + s / classes",
    "clipnorm": "clip gradients to this global norm (None: off)",
    "grad_accum_steps": "step the optimizer every K batches on their averaged gradient (a K times larger batch; "
    "the learning rate follows it); 1: off",
    "ema": "keep an exponential moving average of the weights (momentum 0.99); model.keras and the final "
    "figures are the averaged weights, the per-epoch validation and best.keras the stepped ones",
    "strategy": "distribution: auto, one_device, mirrored, multi_worker, tpu (TensorFlow); data_parallel (JAX)",
    "precision": "float32 | mixed_bfloat16 | mixed_float16",
    "teacher": "a .keras CNN to distill a *_distilled_* DeiT from",
    "distillation": "hard | soft",
    "distillation_alpha": "weight of the distillation loss",
    "distillation_temperature": "temperature of soft distillation",
    "seed": "seeds the weights, the shuffling and the augmentation",
    "output_dir": "the run folder (default: runs/NAME)",
    "overwrite": "delete the run in the run folder (finished or not) and start over, instead of resuming it",
    "tensorboard": "write TensorBoard logs",
    "verbose": "Keras' progress display: 'auto' (a bar on a terminal, a line per epoch otherwise), 0, 1 or 2",
    "jit_compile": "'auto' (XLA on TensorFlow and JAX), True or False",
}


def add_parser(subparsers):
    from keras_vit.training.config import TrainConfig

    parser = subparsers.add_parser(
        "train",
        help="train a ViT (with no arguments: the default recipe on the embedded Fashion-MNIST subset)",
        description="Train a recipe or a named model config, with overrides. Validates every epoch on a split held "
        "out of the training data (--validation-split), writes model.keras, best.keras (best validation accuracy), "
        "history.csv/.json, config.json and result.json to --output-dir, evaluates the test split once, at the "
        "end, and prints 'test_accuracy: X' last. "
        "Run the same command again to resume an interrupted run.",
    )
    parser.add_argument(
        "--recipe",
        default="default",
        help="'default' or the path of a recipe script defining RECIPE = TrainConfig(...) (see recipes/)",
    )
    parser.add_argument(
        "--config",
        default=None,
        metavar="CONFIG_JSON",
        help="replay a run: start from the config.json a run folder holds (instead of --recipe)",
    )
    parser.add_argument(
        "--set",
        dest="model_overrides",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a ViTConfig (or SwinConfig) field of the model, e.g. --set drop_path_rate=0.1 (repeatable); "
        "a --model other than the recipe's starts from no overrides",
    )
    # Flags not given stay out of the namespace (SUPPRESS), so `--clipnorm None` can set a field to None; their
    # help shows the default recipe's value.
    defaults = TrainConfig()
    for field in dataclasses.fields(TrainConfig):
        if field.name == "model_overrides":
            continue
        flag = "--" + field.name.replace("_", "-")
        default = f" (default: {getattr(defaults, field.name)})"
        if field.name == "input_normalization":
            parser.add_argument(
                flag, nargs=2, type=_numbers, default=argparse.SUPPRESS, metavar=("MEAN", "STD"),
                help="the model normalizes its pixels to (x / 255 - MEAN) / STD; MEAN and STD are one number or "
                "one per channel, comma-separated (--input-normalization 0.5 0.5, or 0.485,0.456,0.406 "
                "0.229,0.224,0.225)" + default,
            )  # fmt: skip
            parser.add_argument(
                "--no-input-normalization", dest=field.name, action="store_const", const=None,
                default=argparse.SUPPRESS, help="the model scales its pixels to [0, 1] only",
            )  # fmt: skip
        elif field.type is bool:
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=FIELD_HELP[field.name] + default
            )  # fmt: skip
        else:
            parser.add_argument(
                flag, type=_parse_value, default=argparse.SUPPRESS, metavar=field.name.upper(),
                help=FIELD_HELP[field.name] + default,
            )  # fmt: skip
    parser.set_defaults(handler=run)
    return parser


def run(args):
    from keras_vit.training import train

    result = train(config_from_args(args))
    print(f"model: {result.output_dir}/model.keras")
    if result.best_epoch is not None:
        print(f"best: {result.output_dir}/best.keras (epoch {result.best_epoch + 1}, validation_accuracy "
              f"{result.best_validation_accuracy:.4f})")  # fmt: skip
    if result.validation_accuracy is not None:
        print(f"validation_accuracy: {result.validation_accuracy:.4f}")
    print(f"test_accuracy: {result.test_accuracy:.4f}")  # last: scripts read it


def config_from_args(args):
    """The `TrainConfig` that parsed `keras-vit train` arguments describe: the recipe's, with the
    flags given. `--checkpoint` without `--model` means `model="auto"` (architecture from the file)."""
    from keras_vit.training.config import field_names

    if args.config is not None:
        if args.recipe != "default":
            raise ValueError("--config replays a run's config.json; give it or --recipe, not both.")
        config = load_config_json(args.config)
    else:
        config = load_recipe(args.recipe)
    changes = {name: value for name, value in vars(args).items() if name in field_names() and name != "model_overrides"}
    if changes.get("checkpoint") is not None and "model" not in changes:
        changes["model"] = "auto"
    # A different --model drops the recipe's overrides, which were meant for the recipe's model.
    overrides = config.model_overrides if changes.get("model", config.model) == config.model else {}
    return config.replace(model_overrides=set_overrides(overrides, args.model_overrides), **changes)


def set_overrides(overrides, items):
    """A copy of `overrides` updated by `--set` items `"FIELD=VALUE"` (VALUE read as by `--set`)."""
    overrides = dict(overrides)
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set expects FIELD=VALUE; got {item!r}.")
        overrides[key] = _parse_value(value)
    return overrides


def load_config_json(path):
    """The `TrainConfig` a run's `config.json` records."""
    from keras_vit.training.config import TrainConfig

    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--config {path}: no such file (a run folder's config.json).")
    try:
        return TrainConfig.from_json(path.read_text())
    except (json.JSONDecodeError, TypeError) as error:
        raise ValueError(f"--config {path} is not a keras_vit run's config.json: {error}") from None


def load_recipe(recipe):
    """The `TrainConfig` named by `recipe`: "default", or a script path whose `RECIPE` it is."""
    from keras_vit.training.config import TrainConfig

    if recipe == "default":
        return TrainConfig()
    try:
        namespace = runpy.run_path(recipe)
    except FileNotFoundError:
        raise FileNotFoundError(f"recipe {recipe!r} is neither 'default' nor an existing file.") from None
    if not isinstance(namespace.get("RECIPE"), TrainConfig):
        raise ValueError(f"recipe file {recipe!r} does not define RECIPE = TrainConfig(...).")
    return namespace["RECIPE"]


def _numbers(text):
    """"0.5" -> (0.5,); "0.485,0.456,0.406" -> (0.485, 0.456, 0.406)."""
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or comma-separated numbers; got {text!r}") from None


def _parse_value(text):
    """A command-line value as a Python literal when it is one (3, 0.1, None, True, (2, 4)),
    else the string itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
