"""`ofa`: the command-line tool. Each subcommand parses, builds a value, calls one library function.

Errors the user can cause are printed on one line (no traceback) with exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    args = parser.parse_args(argv)
    try:
        code = args.run(args)
    except OnceForAllError as error:
        label = "error" if error.exit_code == 2 else "stopped"
        print(f"ofa {args.command}: {label}: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"ofa {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
