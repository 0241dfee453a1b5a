"""`ofa list` and `ofa info NAME`: what supernets exist and what their spaces hold."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from onceforall.cli import numbers
from onceforall.cli.output import print_json, print_table
from onceforall.models.registry import list_supernets, supernet_entry, supernet_space


def register(subparsers: Any) -> None:
    listing = subparsers.add_parser("list", help="registered supernets")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=run_list)

    info = subparsers.add_parser(
        "info", help="choices, exact size, MACs/params of a supernet's space"
    )
    info.add_argument("name", help="supernet name (see `ofa list`)")
    info.add_argument(
        "--num-classes", type=numbers.num_classes, default=None, help="classifier outputs"
    )
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(run=run_info)


def run_list(args: argparse.Namespace) -> int:
    entries = [supernet_entry(name) for name in list_supernets()]
    if args.json:
        print_json([{"name": e.name, "description": e.description} for e in entries])
    else:
        print_table(["name", "description"], [[e.name, e.description] for e in entries])
    return 0


def space_info(name: str, num_classes: int | None = None) -> dict[str, Any]:
    """Everything `ofa info` shows, as a JSON-ready dict."""
    space = supernet_space(name, num_classes)
    entry = supernet_entry(name)
    info: dict[str, Any] = {"name": name, "description": entry.description}
    choices = space.describe()
    info["num_classes"] = choices.pop("num_classes")
    info["choices"] = choices
    info["size"] = space.size()
    info["size_with_resolutions"] = space.size(with_resolutions=True)
    rows = []
    smallest, largest = space.min(), space.max()
    for resolution in space.resolutions:
        low, high = (
            replace(smallest, resolution=resolution),
            replace(largest, resolution=resolution),
        )
        rows.append(
            {
                "resolution": resolution,
                "min_macs": space.macs(low),
                "max_macs": space.macs(high),
                "min_params": space.params(low),
                "max_params": space.params(high),
            }
        )
    info["min_arch"] = str(smallest)
    info["max_arch"] = str(largest)
    info["per_resolution"] = rows
    return info


def run_info(args: argparse.Namespace) -> int:
    info = space_info(args.name, args.num_classes)
    if args.json:
        print_json(info)
        return 0
    print(f"{info['name']}: {info['description']}")
    width = max([13, *(len(name) for name in info["choices"])])
    for dimension, values in info["choices"].items():
        print(f"  {dimension:{width}s} {values}")
    sizes = f"{info['size']:,} ({info['size_with_resolutions']:,} with resolutions)"
    print(f"  {'sub-networks':{width}s} {sizes}")
    print(f"  {'min arch':{width}s} {info['min_arch']}")
    print(f"  {'max arch':{width}s} {info['max_arch']}")
    print_table(
        ["resolution", "min MMACs", "max MMACs", "min params", "max params"],
        [
            [
                r["resolution"],
                f"{r['min_macs'] / 1e6:.3f}",
                f"{r['max_macs'] / 1e6:.3f}",
                f"{r['min_params']:,}",
                f"{r['max_params']:,}",
            ]
            for r in info["per_resolution"]
        ],
    )
    return 0
