"""`ofa demo`: train, measure, predict, search, export and compare, on Fashion-MNIST."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from onceforall.cli import numbers
from onceforall.demo.pipeline import DemoConfig

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "demo" / "fashion_mnist.yaml"


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="the whole idea on Fashion-MNIST in ~15 minutes on 2 cores (re-running resumes)",
        description="Trains a small supernet, builds a latency table on this machine, fits an "
        "accuracy predictor, searches for three latency budgets, exports the three sub-networks "
        "and prints predicted against measured latency and test accuracy.",
    )
    demo.add_argument("--out", type=Path, default=Path("runs/demo"))
    demo.add_argument(
        "--config",
        type=Path,
        default=None,
        help="training config (default: onceforall/demo/fashion_mnist.yaml)",
    )
    demo.add_argument(
        "--dataset-size",
        type=numbers.positive_int,
        default=DemoConfig.dataset_size,
        help="sub-networks measured for the accuracy predictor (default: %(default)s)",
    )
    demo.add_argument("--threads", type=numbers.threads, default=2)
    demo.add_argument("--quiet", action="store_true")
    demo.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from onceforall.demo.pipeline import run_demo
    from onceforall.errors import ConfigError

    config_path = args.config or DEFAULT_CONFIG
    if not config_path.is_file():
        raise ConfigError(f"no demo config at {config_path}; pass --config")
    summary = run_demo(
        DemoConfig(
            out=args.out,
            config=config_path,
            dataset_size=args.dataset_size,
            threads=args.threads,
            progress=not args.quiet,
        )
    )
    written = [args.out / name for name in ("summary.json", "pareto.png")]
    print(
        f"wall time: {summary['seconds']:.0f} s; wrote "
        + ", ".join(str(path) for path in written if path.is_file())
    )
    return 0
