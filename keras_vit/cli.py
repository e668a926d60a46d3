"""`keras-vit`: the command line, one subcommand per task (`keras-vit export ...`)."""

import argparse
import sys

from keras_vit.export import cli as export_cli


def main(argv=None):
    parser = argparse.ArgumentParser(prog="keras-vit", description="Vision Transformers for Keras 3.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    export_cli.add_parser(subparsers)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
