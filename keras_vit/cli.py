"""The `keras-vit` command: one subcommand per task, each defined beside the code it runs.

Errors: an expected error of any subcommand (bad input: `ValueError`, `FileNotFoundError`,
`FileExistsError`, `ConnectionError`; a failure keras_vit diagnosed: `keras_vit.errors.KerasViTError`)
ends the command with one line on stderr, `keras-vit <subcommand>: <message>`, and exit status 1, where
the Python argument a message starts from (`batch_size must be ...`) is named by its flag (`--batch-size`); with
`--debug` (before or after the subcommand) it is raised with its traceback. Anything else is a bug and
keeps its traceback.
"""

import argparse
import re
import sys

from keras_vit.errors import KerasViTError
from keras_vit.export import cli as export_cli
from keras_vit.inference import cli as inference_cli
from keras_vit.inspect import cli as inspect_cli
from keras_vit.training import cli as training_cli

EXPECTED_ERRORS = (ValueError, FileNotFoundError, FileExistsError, ConnectionError, KerasViTError)
DEBUG_HELP = "show the traceback of an error instead of its one-line message"


def parse_args(argv=None):
    """The parsed `keras-vit` command line (`argv`, default `sys.argv[1:]`); `args.handler(args)` runs it."""
    return build_parser().parse_args(argv)


def build_parser():
    """The `keras-vit` argument parser, every subcommand added."""
    from keras_vit import __version__

    parser = argparse.ArgumentParser(prog="keras-vit", description="Vision Transformers for Keras 3.")
    parser.add_argument("--version", action="version", version=f"keras-vit {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    training_cli.add_parser(subparsers)
    inference_cli.add_parsers(subparsers)
    export_cli.add_parser(subparsers)
    inspect_cli.add_parser(subparsers)
    for subparser in subparsers.choices.values():
        subparser.formatter_class = argparse.ArgumentDefaultsHelpFormatter  # every flag's help shows its default
        # `--debug` after the subcommand too (SUPPRESS: keeps the top's)
        subparser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
    return parser


def flag_names(parser, command):
    """{Python argument name: its flag} of subcommand `command` (`batch_size` -> `--batch-size`)."""
    subparsers = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    actions = subparsers.choices[command]._actions
    return {action.dest: max(action.option_strings, key=len) for action in actions if action.option_strings}


def name_flags(message, flags):
    """`message` with the argument names it states a rule for (`epochs must ...`, `epochs=0`) as their flags."""
    names = "|".join(re.escape(name) for name in sorted(flags, key=len, reverse=True))
    return re.sub(rf"\b({names})\b(?= must\b| is not\b|=)", lambda match: flags[match.group(1)], message)


def one_line(message):
    """`message` on one line: its lines joined by "; " (after a colon, by a space)."""
    return re.sub(r":; ", ": ", "; ".join(line.strip() for line in str(message).splitlines() if line.strip()))


def main(argv=None):
    """Run the `keras-vit` command line `argv`; its exit status (an expected error: `SystemExit` with its
    one-line message, see the module)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except EXPECTED_ERRORS as error:
        if args.debug:
            raise
        message = name_flags(one_line(error), flag_names(parser, args.command))
        raise SystemExit(f"keras-vit {args.command}: {message}") from None


if __name__ == "__main__":
    sys.exit(main())
