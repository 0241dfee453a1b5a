"""`ofa latency`: build a latency table on this machine, validate it, predict with any table."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from onceforall.cli import numbers
from onceforall.cli.arch_command import read_arch
from onceforall.cli.output import print_json, print_table
from onceforall.errors import LatencyTableError
from onceforall.latency.load import load_latency_table
from onceforall.latency.settings import BACKENDS, MeasureSettings
from onceforall.latency.table import STATISTICS
from onceforall.models.registry import supernet_space


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.replace(",", " ").split())


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("latency", help="latency tables: build, validate, predict")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    build = actions.add_parser(
        "build", help="time every distinct operator of a supernet's space on this machine"
    )
    build.add_argument("supernet", help="supernet name (see `ofa list`)")
    build.add_argument("--out", type=Path, required=True, help="table file (.json); resumed")
    build.add_argument("--backend", choices=BACKENDS, default="torch")
    build.add_argument("--threads", type=numbers.threads, default=1, help="intra-op threads")
    build.add_argument("--batch-size", type=numbers.positive_int, default=1)
    build.add_argument(
        "--resolutions", type=numbers.resolution, nargs="+", help="default: all of the space"
    )
    build.add_argument(
        "--kernel-sizes", type=numbers.positive_int, nargs="+", help="restrict the space"
    )
    build.add_argument(
        "--expand-ratios", type=numbers.positive_float, nargs="+", help="restrict the space"
    )
    build.add_argument("--num-classes", type=numbers.num_classes, default=None)
    build.add_argument(
        "--warmup", type=numbers.non_negative_int, default=10, help="untimed calls per operator"
    )
    build.add_argument(
        "--repetitions", type=numbers.positive_int, default=50, help="timed calls per operator"
    )
    build.add_argument(
        "--rounds",
        type=numbers.non_negative_int,
        default=0,
        help="interleaved rounds sharing the repetitions (0: the backend's default, torch one "
        "call per round, onnxruntime 5 rounds)",
    )
    build.add_argument("--statistic", choices=STATISTICS, default="min", help="what predicts")
    build.add_argument(
        "--chunk-size",
        type=numbers.positive_int,
        default=256,
        help="operators timed together, then saved",
    )
    build.add_argument("--seed", type=numbers.seed, default=0, help="measurement order and inputs")
    build.add_argument("--no-progress", action="store_true")
    build.set_defaults(run=run_build)

    validate = actions.add_parser(
        "validate", help="measure random whole sub-networks and compare with the table"
    )
    validate.add_argument("table", type=Path, help="a table built by `ofa latency build`")
    validate.add_argument("--n", type=numbers.positive_int, default=50, help="validation networks")
    validate.add_argument(
        "--calibration",
        type=numbers.positive_int,
        default=20,
        help="separate networks that fit the correction",
    )
    validate.add_argument("--seed", type=numbers.seed, default=0)
    validate.add_argument("--out", type=Path, help="report (default TABLE.validation.json)")
    validate.add_argument(
        "--chunk-size", type=numbers.positive_int, default=100, help="networks timed together"
    )
    validate.add_argument(
        "--rounds",
        type=numbers.non_negative_int,
        default=5,
        help="rounds of the table's repetitions per network",
    )
    validate.add_argument(
        "--per-block", action="store_true", help="correction: also a term per active block"
    )
    validate.add_argument(
        "--save-correction", action="store_true", help="store the fitted correction in the table"
    )
    validate.add_argument("--no-progress", action="store_true")
    validate.set_defaults(run=run_validate)

    predict = actions.add_parser(
        "predict", help="predicted latency of sub-networks with a table (ours or the reference's)"
    )
    predict.add_argument("supernet", help="supernet name (see `ofa list`)")
    predict.add_argument("table", type=Path, help=".json table, reference .yaml, or a directory")
    predict.add_argument("archs", nargs="*", help="archs: string, JSON, reference dict or @FILE")
    predict.add_argument("--num-classes", type=numbers.num_classes, default=None)
    predict.add_argument(
        "--sample", type=numbers.non_negative_int, default=0, help="also predict N random archs"
    )
    predict.add_argument("--seed", type=numbers.seed, default=0)
    predict.add_argument("--json", action="store_true", help="print JSON")
    predict.set_defaults(run=run_predict, intermixed="archs")


def run_build(args: argparse.Namespace) -> int:
    from onceforall.latency.build import BuildConfig, build_latency_table

    settings = MeasureSettings(
        backend=args.backend,
        threads=args.threads,
        batch_size=args.batch_size,
        warmup=args.warmup,
        repetitions=args.repetitions,
        rounds=args.rounds,
        seed=args.seed,
    )
    result = build_latency_table(
        BuildConfig(
            supernet=args.supernet,
            out=args.out,
            settings=settings,
            num_classes=args.num_classes,
            resolutions=tuple(args.resolutions) if args.resolutions else None,
            kernel_sizes=tuple(args.kernel_sizes) if args.kernel_sizes else None,
            expand_ratios=tuple(args.expand_ratios) if args.expand_ratios else None,
            statistic=args.statistic,
            chunk_size=args.chunk_size,
            progress=not args.no_progress,
        )
    )
    print(
        f"{result.path}: {result.operators} distinct operators "
        f"({result.measured} measured now, {result.reused} already there) "
        f"in {result.seconds:.1f} s"
    )
    return 0


def run_validate(args: argparse.Namespace) -> int:
    from onceforall.latency.validate import ValidateConfig, validate_latency_table

    report = validate_latency_table(
        ValidateConfig(
            table=args.table,
            n=args.n,
            calibration=args.calibration,
            seed=args.seed,
            out=args.out,
            chunk_size=args.chunk_size,
            network_rounds=args.rounds,
            per_block_correction=args.per_block,
            save_correction=args.save_correction,
            progress=not args.no_progress,
        )
    )
    rows = [
        [name, f"{m.mape_percent:.2f}%", f"{m.max_abs_percent_error:.2f}%", f"{m.kendall_tau:.3f}"]
        for name, m in (("table", report.raw), ("table + correction", report.corrected))
    ]
    print(
        f"{report.networks} validation networks "
        f"(correction fitted on {report.calibration_networks} others)"
    )
    print_table(["prediction", "MAPE", "max error", "Kendall tau"], rows)
    c = report.correction
    print(
        f"correction: {c.offset_ms:+.4f} ms + {c.scale:.4f} x table "
        f"+ {c.per_block_ms:+.4f} ms per block; report: {report.path}"
    )
    return 0


def run_predict(args: argparse.Namespace) -> int:
    space = supernet_space(args.supernet, args.num_classes)
    model = load_latency_table(args.table, space, args.supernet)
    archs = [read_arch(model.space, text) for text in args.archs]
    if args.sample > 0:
        archs += model.space.sample_distinct(args.sample, np.random.default_rng(args.seed))
    if not archs:
        raise LatencyTableError("give archs to predict, or --sample N")
    population = model.space.to_population(archs)
    latency = model.predict_population(population)
    macs = model.space.macs_population(population)
    if args.json:
        print_json(
            [
                {"arch": str(a), "latency_ms": float(ms), "macs": int(m)}
                for a, ms, m in zip(archs, latency, macs, strict=True)
            ]
        )
        return 0
    print_table(
        ["arch", "latency ms", "MMACs"],
        [
            [str(a), f"{ms:.3f}", f"{m / 1e6:.1f}"]
            for a, ms, m in zip(archs, latency, macs, strict=True)
        ],
    )
    return 0
