"""The `keras-vit` command: one subcommand per task, each defined beside the code it runs."""

import argparse
import sys

from keras_vit.export import cli as export_cli
from keras_vit.inference import cli as inference_cli
from keras_vit.inspect import cli as inspect_cli
from keras_vit.training import cli as training_cli


def parse_args(argv=None):
    """The parsed `keras-vit` command line (`argv`, default `sys.argv[1:]`); `args.handler(args)` runs it."""
    from keras_vit import __version__

    parser = argparse.ArgumentParser(prog="keras-vit", description="Vision Transformers for Keras 3.")
    parser.add_argument("--version", action="version", version=f"keras-vit {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    training_cli.add_parser(subparsers)
    inference_cli.add_parsers(subparsers, argparse.ArgumentDefaultsHelpFormatter)
    export_cli.add_parser(subparsers)
    inspect_cli.add_parser(subparsers)
    for subparser in subparsers.choices.values():  # every flag's help shows its default
        subparser.formatter_class = argparse.ArgumentDefaultsHelpFormatter
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
