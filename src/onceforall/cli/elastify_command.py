"""`ofa elastify MODEL`: what a user's network becomes as a supernet, layer by layer."""

from __future__ import annotations

import argparse
from typing import Any

from onceforall.cli import numbers
from onceforall.cli.output import print_json


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "elastify",
        help="make a user's network elastic: report what can change (nothing is written)",
        description=(
            "MODEL is path/to/file.py:function or package.module:function; function(num_classes) "
            "returns the nn.Module (decorate it with onceforall.elastic_model(...) to set the "
            "options; the flags below override them). Prints, layer by layer, what became elastic "
            "and why the rest did not, and the space's size and cost range. The same MODEL string "
            "is a supernet name for `ofa train` (supernet: MODEL), latency, search and export."
        ),
    )
    parser.add_argument("model", help="path/to/file.py:function or package.module:function")
    parser.add_argument(
        "--num-classes", type=numbers.num_classes, default=None, help="passed to the function"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="accepted; this command writes nothing"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from onceforall.elastify.user_model import default_num_classes, user_supernet
    from onceforall.errors import UnknownSupernetError

    if ":" not in args.model:
        raise UnknownSupernetError(
            f"{args.model!r} is not a model reference: use path/to/file.py:function or "
            "package.module:function"
        )
    classes = default_num_classes(args.model) if args.num_classes is None else args.num_classes
    net = user_supernet(args.model, classes)
    space = net.space
    smallest, largest = space.min(), space.max()
    summary = {
        "model": args.model,
        "num_classes": classes,
        "size": space.size(),
        "size_with_resolutions": space.size(with_resolutions=True),
        "min": {
            "arch": str(smallest),
            "macs": space.macs(smallest),
            "params": space.params(smallest),
        },
        "max": {"arch": str(largest), "macs": space.macs(largest), "params": space.params(largest)},
        "report": list(net.plan.report),
    }
    if args.json:
        print_json(summary)
        return 0
    for line in summary["report"]:
        print(line)
    total, with_resolutions = summary["size"], summary["size_with_resolutions"]
    print(f"\n{total:,} sub-networks ({with_resolutions:,} with resolutions)")
    for label in ("min", "max"):
        row = summary[label]
        print(f"{label}: {row['arch']}  {row['macs'] / 1e6:.2f} MMACs  {row['params']:,} params")
    return 0
