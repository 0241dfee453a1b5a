"""`ofa finetune`: train one sub-network of a trained supernet further, with distillation.

ofa finetune RUN --arch ARCH --epochs N --out DIR [--lr LR] [--resume]
then: ofa export DIR --out EXPORT_DIR
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from onceforall.cli import numbers


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "finetune",
        help="fine-tune a sub-network alone, distilled from the supernet's largest (resumable)",
        description="Trains a BN-recalibrated static copy of ARCH for N epochs with the run's "
        "data, optimizer settings and kd_ratio, the supernet's largest sub-network as teacher; "
        "reports held-out accuracy before and after. `ofa export DIR` exports the result.",
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN", help="training run directory")
    parser.add_argument("--arch", required=True, help="arch string of the sub-network")
    parser.add_argument("--epochs", type=numbers.positive_int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="fine-tuning directory")
    parser.add_argument(
        "--lr",
        type=numbers.positive_float,
        default=None,
        help="peak rate per base batch (default: last phase's)",
    )
    parser.add_argument("--warmup-epochs", type=numbers.non_negative_float, default=0.0)
    parser.add_argument("--no-distill", action="store_true", help="labels only, no teacher")
    parser.add_argument("--resume", action="store_true", help="continue the fine-tuning in --out")
    parser.add_argument(
        "--max-steps", type=numbers.positive_int, default=None, help="stop after this many steps"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(run=run_finetune)


def run_finetune(args: argparse.Namespace) -> int:
    from onceforall.train.finetune import finetune
    from onceforall.train.finetune_config import FinetuneConfig

    config = FinetuneConfig(
        run=str(args.run_dir),
        arch=args.arch,
        epochs=args.epochs,
        lr=args.lr,
        warmup_epochs=args.warmup_epochs,
        distill=not args.no_distill,
    )
    summary = finetune(
        config, args.out, resume=args.resume, progress=not args.quiet, max_steps=args.max_steps
    )
    before = f"{100 * summary.accuracy_before:.2f}%"
    if summary.accuracy_after is None:
        print(
            f"stopped at step {summary.step}/{summary.steps}; held-out top-1 before: {before}; "
            "continue with --resume"
        )
    else:
        print(
            f"finished: {args.out}; held-out top-1 {before} -> "
            f"{100 * summary.accuracy_after:.2f}% ({summary.seconds:.0f} s this session)"
        )
    return 0
