"""`ofa predictor`: fit an accuracy predictor, report on it, predict for archs.

ofa predictor dataset RUN --n 2000
ofa predictor fit DATASET.jsonl --supernet NAME --out DIR
ofa predictor report DATASET.jsonl --predictor P --supernet NAME --out DIR
ofa predictor predict --predictor P --supernet NAME ARCH [ARCH ...]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from onceforall.cli import numbers
from onceforall.cli.arch_command import read_arch
from onceforall.cli.output import print_json, print_table
from onceforall.predict.fit_config import FitConfig


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("predictor", help="fit / evaluate the accuracy predictor")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    defaults = FitConfig()
    fit = actions.add_parser(
        "fit",
        help="fit the MLP on a JSONL accuracy dataset, report on a held-out split",
        description="Writes OUT/predictor.pt, OUT/report.json (held-out RMSE in percentage "
        "points, Kendall tau) and OUT/predicted_vs_measured.png.",
    )
    fit.add_argument("dataset", type=Path, help='JSONL: {"arch": "r160-...", "accuracy": 0.7}')
    fit.add_argument("--supernet", required=True)
    fit.add_argument("--num-classes", type=numbers.num_classes, default=None)
    fit.add_argument("--out", type=Path, required=True)
    fit.add_argument(
        "--hidden", type=numbers.positive_int, nargs="+", default=list(defaults.hidden_sizes)
    )
    fit.add_argument("--epochs", type=numbers.positive_int, default=defaults.max_epochs)
    fit.add_argument("--batch-size", type=numbers.positive_int, default=defaults.batch_size)
    fit.add_argument("--lr", type=numbers.positive_float, default=defaults.learning_rate)
    fit.add_argument(
        "--weight-decay", type=numbers.non_negative_float, default=defaults.weight_decay
    )
    fit.add_argument("--patience", type=numbers.positive_int, default=defaults.patience)
    fit.add_argument(
        "--validation-fraction", type=numbers.fraction, default=defaults.validation_fraction
    )
    fit.add_argument("--test-fraction", type=numbers.fraction, default=0.2)
    fit.add_argument("--seed", type=numbers.seed, default=0)
    fit.add_argument("--quiet", action="store_true", help="no progress bar")
    fit.add_argument("--overwrite", action="store_true", help="replace a predictor in --out")
    fit.set_defaults(run=run_fit)

    report = actions.add_parser("report", help="RMSE / Kendall tau of a predictor on a dataset")
    report.add_argument("dataset", type=Path)
    report.add_argument("--predictor", type=Path, required=True)
    report.add_argument("--supernet", required=True)
    report.add_argument("--num-classes", type=numbers.num_classes, default=None)
    report.add_argument("--out", type=Path, required=True)
    report.set_defaults(run=run_report)

    dataset = actions.add_parser(
        "dataset",
        help="measure distinct sub-networks of a trained run (BN re-calibrated, held-out split)",
        description="Appends to RUN/predictor/dataset.jsonl as it goes: an interrupted build "
        "resumes, archs already measured are skipped. Under torchrun the ranks share the work.",
    )
    dataset.add_argument("run_dir", type=Path, metavar="RUN")
    dataset.add_argument(
        "--n", type=numbers.positive_int, default=2000, help="sub-networks in the dataset"
    )
    dataset.add_argument("--seed", type=numbers.seed, default=0)
    dataset.add_argument(
        "--eval-images",
        type=numbers.positive_int,
        default=None,
        help="measure on the first N held-out images only (default: all)",
    )
    dataset.add_argument("--out", type=Path, default=None, help="default: RUN/predictor/")
    dataset.add_argument("--quiet", action="store_true")
    dataset.set_defaults(run=run_dataset)

    predict = actions.add_parser("predict", help="predicted accuracy of archs")
    predict.add_argument("archs", nargs="+", help="arch strings, JSON, reference dicts or @file")
    predict.add_argument("--predictor", type=Path, required=True)
    predict.add_argument("--supernet", required=True)
    predict.add_argument("--json", action="store_true")
    predict.set_defaults(run=run_predict, intermixed="archs")


def run_fit(args: argparse.Namespace) -> int:
    from onceforall.predict.workflows import fit_from_dataset

    config = FitConfig(
        hidden_sizes=tuple(args.hidden),
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        weight_decay=args.weight_decay,
        validation_fraction=args.validation_fraction,
        patience=args.patience,
        seed=args.seed,
    )
    summary = fit_from_dataset(
        args.dataset,
        args.supernet,
        args.out,
        config,
        num_classes=args.num_classes,
        test_fraction=args.test_fraction,
        progress=not args.quiet,
        overwrite=args.overwrite,
    )
    _print_report(summary, args.out)
    return 0


def run_dataset(args: argparse.Namespace) -> int:
    from onceforall.predict.dataset import build_accuracy_dataset

    out = None if args.out is None else args.out / "dataset.jsonl"
    summary = build_accuracy_dataset(
        args.run_dir,
        args.n,
        out=out,
        seed=args.seed,
        eval_images=args.eval_images,
        progress=not args.quiet,
    )
    if os.environ.get("RANK", "0") == "0":
        print(
            f"{summary.path}: {summary.records} sub-networks ({summary.evaluated} measured now, "
            f"{summary.seconds:.1f} s)"
        )
    return 0


def run_report(args: argparse.Namespace) -> int:
    from onceforall.predict.workflows import report_on_dataset

    summary = report_on_dataset(
        args.predictor, args.dataset, args.supernet, args.out, num_classes=args.num_classes
    )
    _print_report(summary, args.out)
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from onceforall.models.registry import supernet_space
    from onceforall.predict.accuracy import load_predictor

    space = supernet_space(args.supernet)
    predictor = load_predictor(args.predictor)
    predictor.check_space(space, args.supernet)
    archs = [read_arch(space, text) for text in args.archs]
    accuracies = predictor.predict_population(space, space.to_population(archs))
    if args.json:
        print_json(
            [
                {"arch": str(arch), "predicted_accuracy": float(accuracy)}
                for arch, accuracy in zip(archs, accuracies, strict=True)
            ]
        )
    else:
        print_table(
            ["arch", "pred. top-1 %"],
            [[str(a), f"{100 * acc:.3f}"] for a, acc in zip(archs, accuracies, strict=True)],
        )
    return 0


def _print_report(summary: dict[str, Any], out: Path) -> None:
    print(json.dumps(summary["held_out"]))
    print(f"wrote {out / 'report.json'}")
