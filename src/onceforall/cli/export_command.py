"""`ofa export`: a sub-network as PyTorch / TorchScript / ONNX files, verified, timed, with a card.

ofa export RUN --arch ARCH --out DIR [--format pytorch torchscript onnx]
ofa export FINETUNE_DIR --out DIR                        (the arch is the fine-tuned one)
ofa export --checkpoint REF.pth --config RUN.yaml --arch ARCH --out DIR   (reference weights)
"""

from __future__ import annotations

import argparse
import shlex
import sys
import warnings
from pathlib import Path
from typing import Any

from onceforall.cli import numbers
from onceforall.cli.output import print_json, print_table
from onceforall.deploy.export_config import (
    ALL_FORMATS,
    FORMATS,
    ExportRequest,
    Tolerances,
    default_measure_settings,
)
from onceforall.deploy.int8_config import Int8AccuracyWarning, Int8Request
from onceforall.latency.onnx_int8 import CALIBRATION_METHODS, Int8Settings


def register(subparsers: Any) -> None:
    measure, tolerances = default_measure_settings(), Tolerances()
    parser = subparsers.add_parser(
        "export",
        help="export a sub-network (ONNX, TorchScript, PyTorch), verify it, write a model card",
        description="Re-calibrates BN on the run's calibration images, writes the formats, runs "
        "them without onceforall on held-out images against PyTorch (fails above tolerance), "
        "times each backend and writes card.json / card.md. --out appears only when all succeeded.",
    )
    parser.add_argument(
        "source",
        type=Path,
        nargs="?",
        metavar="RUN",
        help="training run directory, one of its checkpoint files, or an `ofa finetune` output",
    )
    parser.add_argument("--arch", help="arch string (not needed for a fine-tuning output)")
    parser.add_argument("--out", type=Path, required=True, help="export directory (must be new)")
    parser.add_argument(
        "--format",
        dest="formats",
        nargs="+",
        choices=ALL_FORMATS,
        default=list(FORMATS),
        help="default: the exact formats; onnx-int8 (ONNX Runtime static quantization) when asked",
    )
    parser.add_argument("--checkpoint", type=Path, help="weights in the reference's key layout")
    parser.add_argument("--config", type=Path, help="run config YAML, with --checkpoint")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    for name in FORMATS:
        parser.add_argument(
            f"--{name}-tolerance",
            type=numbers.non_negative_float,
            default=tolerances.of(name),
            help=f"largest accepted |logit difference| of {name} (default {tolerances.of(name)})",
        )
    parser.add_argument(
        "--verify-images", type=numbers.positive_int, default=64, help="held-out images checked"
    )
    int8 = Int8Request()
    parser.add_argument(
        "--int8-calibration-images",
        type=numbers.positive_int,
        default=int8.calibration_images,
        help="training images that calibrate the INT8 activation ranges "
        f"(default {int8.calibration_images})",
    )
    parser.add_argument(
        "--int8-calibration-method",
        choices=CALIBRATION_METHODS,
        default=int8.settings.calibration_method,
    )
    parser.add_argument(
        "--int8-test-images",
        type=numbers.positive_int,
        default=int8.test_images,
        help=f"evaluation images for float vs INT8 top-1 (default {int8.test_images})",
    )
    parser.add_argument(
        "--int8-max-drop",
        type=numbers.non_negative_float,
        default=100 * int8.max_drop,
        help="warn when INT8 top-1 is more than this many percentage points below float "
        f"(default {100 * int8.max_drop:g})",
    )
    parser.add_argument(
        "--batch-size",
        type=numbers.positive_int,
        default=8,
        help="latency batch, besides batch 1 (default 8)",
    )
    parser.add_argument(
        "--threads", type=numbers.threads, default=measure.threads, help="latency threads"
    )
    parser.add_argument("--warmup", type=numbers.non_negative_int, default=measure.warmup)
    parser.add_argument("--repetitions", type=numbers.positive_int, default=measure.repetitions)
    parser.add_argument("--rounds", type=numbers.non_negative_int, default=measure.rounds)
    parser.add_argument(
        "--predictor", type=Path, help="accuracy predictor (default: RUN/predictor/predictor.pt)"
    )
    parser.add_argument(
        "--latency-table", type=Path, help="latency table (default: the one in RUN/latency)"
    )
    parser.add_argument("--json", action="store_true", help="print the card as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(run=run_export)


def command_line(args: argparse.Namespace) -> str:
    """The export as one explicit command (every setting spelled out), for the model card."""
    words = ["ofa", "export"]
    if args.source is not None:
        words.append(str(args.source))
    for option in ("arch", "checkpoint", "config", "predictor", "latency_table"):
        if getattr(args, option) is not None:
            words += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
    for assignment in args.overrides:
        words += ["--set", assignment]
    words += ["--out", str(args.out), "--format", *args.formats]
    for option in (*(f"{n}_tolerance" for n in FORMATS), "verify_images", "batch_size"):
        words += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
    if "onnx-int8" in args.formats:
        for option in ("calibration_images", "calibration_method", "test_images", "max_drop"):
            words += [f"--int8-{option.replace('_', '-')}", str(getattr(args, f"int8_{option}"))]
    for option in ("threads", "warmup", "repetitions", "rounds"):
        words += [f"--{option}", str(getattr(args, option))]
    return shlex.join(words)


def run_export(args: argparse.Namespace) -> int:
    from onceforall.deploy.export import export_subnet
    from onceforall.latency.settings import MeasureSettings

    request = ExportRequest(
        out=args.out,
        source=args.source,
        arch=args.arch,
        formats=tuple(dict.fromkeys(args.formats)),
        reference_checkpoint=args.checkpoint,
        config=args.config,
        config_overrides=tuple(args.overrides),
        tolerances=Tolerances(
            pytorch=args.pytorch_tolerance,
            torchscript=args.torchscript_tolerance,
            onnx=args.onnx_tolerance,
        ),
        verify_images=args.verify_images,
        int8=Int8Request(
            settings=Int8Settings(calibration_method=args.int8_calibration_method),
            calibration_images=args.int8_calibration_images,
            test_images=args.int8_test_images,
            max_drop=args.int8_max_drop / 100,
        ),
        latency_batch_sizes=tuple(dict.fromkeys((1, args.batch_size))),
        measure=MeasureSettings(
            threads=args.threads,
            warmup=args.warmup,
            repetitions=args.repetitions,
            rounds=args.rounds,
        ),
        predictor=args.predictor,
        latency_table=args.latency_table,
        command=command_line(args),
        progress=not args.quiet,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Int8AccuracyWarning)  # printed below from the card
        card = export_subnet(request)
    if args.json:
        print_json(card.to_json())
        return 0
    print(f"exported {card.supernet} {card.arch} to {args.out}")
    print(
        f"top-1 {100 * card.accuracy:.2f}% on {card.accuracy_images} {card.accuracy_split} "
        f"images; {card.macs / 1e6:.2f} MMACs; {card.params:,} parameters"
    )
    print_table(
        ["format", "max |diff|", "tolerance"],
        [[c.format, f"{c.max_abs_diff:.2e}", f"{c.tolerance:g}"] for c in card.verification],
    )
    if card.int8 is not None:
        q = card.int8
        print(
            f"INT8: top-1 {100 * q.int8_top1:.2f}% vs float ONNX {100 * q.float_onnx_top1:.2f}% "
            f"on {q.test_images} {q.test_split} images (same class on "
            f"{100 * q.top1_agreement:.1f}%); calibrated on {q.calibration_images} training "
            f"images ({q.settings['calibration_method']})"
        )
        if q.warning is not None:
            print(f"warning: {q.warning}", file=sys.stderr)
    print_table(
        ["backend", "batch", "median ms", "IQR ms", "min ms"],
        [
            [t.backend, t.batch_size, f"{t.median_ms:.3f}", f"{t.iqr_ms:.3f}", f"{t.min_ms:.3f}"]
            for t in card.latency
        ],
    )
    return 0
