"""`ofa`: the command-line tool. Each subcommand parses, builds a value, calls one library function.

Errors the user can cause are printed on one line (no traceback) with exit code 2: library
exceptions, usage errors (argparse), and files that cannot be read or written (OSError).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from onceforall.atomic_files import describe_os_error
from onceforall.cli import (
    arch_command,
    demo_command,
    elastify_command,
    export_command,
    finetune_command,
    info_command,
    latency_command,
    predictor_command,
    search_command,
    train_command,
)
from onceforall.errors import OnceForAllError

COMMANDS = (
    info_command.register,
    arch_command.register,
    train_command.register,
    elastify_command.register,
    predictor_command.register,
    search_command.register,
    latency_command.register,
    export_command.register,
    finetune_command.register,
    demo_command.register,
)


class OneLineParser(argparse.ArgumentParser):
    """Usage errors in one line (the subcommand's parsers are of this class too)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def one_line(message: object) -> str:
    """A message on one line, whatever it quotes (file contents, torch's text...)."""
    return " ".join(str(message).split())


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Options may come between positional values where a command lists `intermixed`, the name
    of its list of positional values (`ofa latency predict NAME TABLE --num-classes 4 ARCH`)."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        name = getattr(args, "intermixed", None)
        if name is None or any(text.startswith("-") for text in extras):
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
        getattr(args, name).extend(extras)
    return args


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="ofa",
        description="Once-for-All: train one supernet, specialize sub-networks for every device.",
    )
    from onceforall import __version__

    parser.add_argument("--version", action="version", version=f"onceforall {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in COMMANDS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parse(parser, argv)
    except SystemExit as stop:  # --help, --version, or a usage error already printed
        return stop.code if isinstance(stop.code, int) else 2
    try:
        code = args.run(args)
    except OnceForAllError as error:
        label = "error" if error.exit_code == 2 else "stopped"
        print(f"ofa {args.command}: {label}: {one_line(error)}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:
        return 0
    except OSError as error:  # a path the user gave that cannot be read or written
        print(f"ofa {args.command}: error: {one_line(describe_os_error(error))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ofa {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
