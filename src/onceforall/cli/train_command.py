"""`ofa train` and `ofa eval`: train a supernet from a config; evaluate sub-networks of a run."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from onceforall.cli import numbers
from onceforall.cli.output import print_json, print_table


def register(subparsers: Any) -> None:
    train = subparsers.add_parser(
        "train", help="train a supernet (progressive shrinking or any phase schedule)"
    )
    train.add_argument("--config", type=Path, required=True, help="YAML run config (configs/)")
    train.add_argument("--out", type=Path, required=True, help="run directory")
    train.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set phases.kernel.epochs=2 (repeatable)",
    )
    train.add_argument("--resume", action="store_true", help="continue the run in --out")
    train.add_argument(
        "--max-steps", type=numbers.positive_int, default=None, help="stop after this many steps"
    )
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(run=run_train)

    evaluate = subparsers.add_parser(
        "eval", help="BN-recalibrated accuracy of sub-networks of a trained run"
    )
    evaluate.add_argument("run_dir", type=Path, metavar="RUN")
    evaluate.add_argument(
        "--arch", action="append", default=[], help="arch string (repeatable); default: the panel"
    )
    evaluate.add_argument("--split", choices=("holdout", "test"), default="holdout")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(run=run_eval)


def run_train(args: argparse.Namespace) -> int:
    from onceforall.run.config import load_run_config
    from onceforall.train.run import train

    config = load_run_config(args.config, args.overrides)
    summary = train(
        config, args.out, resume=args.resume, progress=not args.quiet, max_steps=args.max_steps
    )
    if summary.position.complete:
        print(f"finished: {args.out} ({summary.seconds:.0f} s this session)")
    else:
        position = summary.position
        print(
            f"stopped at phase {position.phase_index + 1} step {position.step}; --resume continues"
        )
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from onceforall.run.evaluate_run import evaluate_run

    report = evaluate_run(args.run_dir, args.arch, split=args.split)
    if args.json:
        print_json(report)
    else:
        print_table(
            ["label", "top-1 %", "MMACs", "params", "arch"],
            [
                [
                    r["label"],
                    f"{100 * r['accuracy']:.2f}",
                    f"{r['macs'] / 1e6:.2f}",
                    f"{r['params']:,}",
                    r["arch"],
                ]
                for r in report["results"]
            ],
        )
    return 0
