"""`ofa arch`: sample sub-networks and convert between the string, JSON and reference forms."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from onceforall.arch.space import Space
from onceforall.cli import numbers
from onceforall.cli.output import print_json
from onceforall.errors import ArchError
from onceforall.models.registry import supernet_space

FORMATS = ("string", "json", "reference")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("arch", help="sample or convert sub-network architectures")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    sample = actions.add_parser("sample", help="random sub-networks of a supernet's space")
    sample.add_argument("name", help="supernet name")
    sample.add_argument("-n", type=numbers.positive_int, default=1, help="how many (distinct)")
    sample.add_argument("--seed", type=numbers.seed, default=0)
    sample.add_argument("--to", choices=FORMATS, default="string")
    sample.set_defaults(run=run_sample)

    convert = actions.add_parser(
        "convert",
        help="read an arch (string, JSON, reference dict, or @FILE) and print it in other forms",
    )
    convert.add_argument("name", help="supernet name")
    convert.add_argument("arch", help="r160-k3e4_...; {...} JSON; {'ks':...} dict; @file.json")
    convert.add_argument("--to", choices=(*FORMATS, "all"), default="all")
    convert.set_defaults(run=run_convert)


def read_arch(space: Space[Any], text: str) -> Any:
    """An arch of `space` from any of its forms (a leading @ reads a file)."""
    if text.startswith("@"):
        path = Path(text[1:])
        if not path.is_file():
            raise ArchError(f"no such file: {path}")
        try:
            text = path.read_text().strip()
        except UnicodeDecodeError:
            raise ArchError(f"{path}: not a text file (an arch string or JSON)") from None
    if text.lstrip().startswith("{"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as error:
            raise ArchError(f"invalid JSON: {error}") from None
        # the JSON form has a "resolution"; reference dicts have "r" or "image_size"
        if isinstance(obj, dict) and "resolution" not in obj:
            return space.from_reference_dict(obj)
        return space.arch_from_json(obj)
    return space.parse(text)


def forms(space: Space[Any], arch: Any) -> dict[str, Any]:
    return {
        "string": str(arch),
        "json": arch.to_json(),
        "reference": space.to_reference_dict(arch),
        "macs": space.macs(arch),
        "params": space.params(arch),
    }


def _print(space: Space[Any], arch: Any, to: str) -> None:
    if to == "string":
        print(arch)
    elif to == "json":
        print(json.dumps(arch.to_json()))
    elif to == "reference":
        print(json.dumps(space.to_reference_dict(arch)))
    else:
        print_json(forms(space, arch))


def run_sample(args: argparse.Namespace) -> int:
    if args.n < 1:
        raise ArchError(f"-n must be at least 1, got {args.n}")
    space = supernet_space(args.name)
    for arch in space.sample_distinct(args.n, np.random.default_rng(args.seed)):
        _print(space, arch, args.to)
    return 0


def run_convert(args: argparse.Namespace) -> int:
    space = supernet_space(args.name)
    _print(space, read_arch(space, args.arch), args.to)
    return 0
