"""The `keras-vit` command: one subcommand per task, each defined beside the code it runs."""

import argparse
import sys

from keras_vit.export import cli as export_cli
from keras_vit.inspect import cli as inspect_cli
from keras_vit.training import cli as training_cli


def parse_args(argv=None):
    """The parsed `keras-vit` command line (`argv`, default `sys.argv[1:]`); `args.handler(args)` runs it."""
    parser = argparse.ArgumentParser(prog="keras-vit", description="Vision Transformers for Keras 3.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    training_cli.add_parser(subparsers)
    export_cli.add_parser(subparsers)
    inspect_cli.add_parser(subparsers)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
