"""`keras-vit train`: a recipe or a named model config, with overrides, through `train()`."""

import argparse
import ast
import dataclasses
import runpy


def add_parser(subparsers):
    from keras_vit.training.config import TrainConfig

    parser = subparsers.add_parser(
        "train",
        help="train a ViT (with no arguments: the default recipe on the embedded Fashion-MNIST subset)",
        description="Train a recipe or a named model config, with overrides. Writes model.keras, best.keras, "
        "history.csv/.json, config.json and result.json to --output-dir and prints 'test_accuracy: X' last. "
        "Run the same command again to resume an interrupted run.",
    )
    parser.add_argument(
        "--recipe",
        default="default",
        help="'default' or the path of a recipe script defining RECIPE = TrainConfig(...) (see recipes/)",
    )
    parser.add_argument(
        "--set",
        dest="model_overrides",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a ViTConfig field of the model, e.g. --set drop_path_rate=0.1 (repeatable); "
        "a --model other than the recipe's starts from no overrides",
    )
    for field in dataclasses.fields(TrainConfig):
        if field.name == "model_overrides":
            continue
        flag = "--" + field.name.replace("_", "-")
        if field.type is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None)
        else:
            parser.add_argument(flag, type=_parse_value, default=None, metavar=field.name.upper())
    parser.set_defaults(handler=run)
    return parser


def run(args):
    from keras_vit.training import train

    config = load_recipe(args.recipe)
    changes = {
        name: value
        for name, value in vars(args).items()
        if value is not None and name not in ("recipe", "model_overrides", "command", "handler")
    }
    # A different --model drops the recipe's overrides, which were meant for the recipe's model.
    overrides = dict(config.model_overrides) if changes.get("model", config.model) == config.model else {}
    for item in args.model_overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"keras-vit train: --set expects FIELD=VALUE; got {item!r}.")
        overrides[key] = _parse_value(value)
    try:
        result = train(config.replace(model_overrides=overrides, **changes))
    except (ValueError, FileNotFoundError) as error:  # bad input: our errors say what and how to fix it
        raise SystemExit(f"keras-vit train: {error}") from None
    print(f"model: {result.output_dir}/model.keras")
    print(f"test_accuracy: {result.test_accuracy:.4f}")


def load_recipe(recipe):
    """The `TrainConfig` named by `recipe`: "default", or a script path whose `RECIPE` it is."""
    from keras_vit.training.config import TrainConfig

    if recipe == "default":
        return TrainConfig()
    try:
        namespace = runpy.run_path(recipe)
    except FileNotFoundError:
        raise SystemExit(f"keras-vit train: recipe {recipe!r} is neither 'default' nor an existing file.") from None
    if not isinstance(namespace.get("RECIPE"), TrainConfig):
        raise SystemExit(f"keras-vit train: recipe file {recipe!r} does not define RECIPE = TrainConfig(...).")
    return namespace["RECIPE"]


def _parse_value(text):
    """A command-line value as a Python literal when it is one (3, 0.1, None, True, (2, 4)),
    else the string itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
