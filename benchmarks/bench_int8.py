"""INT8 deployment on this CPU: accuracy and latency of float vs INT8 ONNX, INT8 latency tables.

    python benchmarks/bench_int8.py RUN [--test-images 10000] [--threads 1] [--validate-n 30]

RUN is a trained small-input supernet run (Fashion-MNIST). For its min, one seeded random and its
max sub-network, `export_subnet` with the formats onnx and onnx-int8 (exactly `ofa export
--format onnx onnx-int8`) gives float and INT8 top-1 on the test split and the latency of both
at batch 1 and 8, measured side by side (deploy/exported_latency.py: interleaved shuffled
rounds). Then every distinct operator of the space at the largest resolution is timed float and
INT8 side by side (one interleaved set of runners) and the INT8/float ratios are grouped by
operator type. Last, an INT8 table (`ofa latency build --backend onnxruntime-int8`) is built and
validated against whole INT8 networks (`ofa latency validate`). Between them, the min and max
networks are timed float vs INT8 variants (activation type, pre-processing) side by side, with
the operators ONNX Runtime runs after its graph optimizations. The load average is recorded
before and after each part: the machine is shared, timings are noisy.
Writes benchmarks/results/int8.json after every part.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from onceforall.atomic_files import atomic_write_json
from onceforall.deploy.export import export_subnet
from onceforall.deploy.export_config import ExportRequest
from onceforall.deploy.int8_config import Int8Request
from onceforall.families.registry import family_of
from onceforall.latency.build import BuildConfig, build_latency_table, space_operators
from onceforall.latency.measure import (
    MeasureSettings,
    backend_versions,
    machine_description,
    make_runner,
    onnx_bytes,
    onnxruntime_runner,
    time_runners,
)
from onceforall.latency.onnx_int8 import Int8Settings, quantize_onnx_bytes, quantized_op_types
from onceforall.latency.validate import ValidateConfig, validate_latency_table
from onceforall.run.trained import load_trained_supernet

EXPORT_BATCH = 8


def load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def run_training(run: Path) -> dict[str, Any]:
    """How the run's supernet was trained (its config), for the reader of the JSON."""
    _, config, payload = load_trained_supernet(run)
    return {
        "phases": [{"name": p.name, "epochs": p.epochs} for p in config.phases],
        "dataset": config.data.dataset,
        "train_subset": config.data.train_subset,
        "complete": bool(payload.get("complete", False)),
    }


def subnet_cases(run: Path, seed: int) -> list[tuple[str, Any]]:
    space = load_trained_supernet(run)[0].space
    return [
        ("min", space.min()),
        ("random", space.sample(np.random.default_rng(seed))),
        ("max", space.max()),
    ]


def measure_subnet(
    run: Path, label: str, arch: Any, args: argparse.Namespace, work: Path
) -> dict[str, Any]:
    before = load()
    card = export_subnet(
        ExportRequest(
            out=work / label,
            source=run,
            arch=str(arch),
            formats=("onnx", "onnx-int8"),
            int8=Int8Request(
                calibration_images=args.calibration_images, test_images=args.test_images
            ),
            latency_batch_sizes=(1, EXPORT_BATCH),
            measure=MeasureSettings(
                threads=args.threads, warmup=10, repetitions=args.repetitions, rounds=5
            ),
            progress=False,
        )
    )
    assert card.int8 is not None
    latency = {f"{t.backend} batch {t.batch_size}": asdict(t) for t in card.latency}
    ratios = {
        f"batch {n}": latency[f"onnxruntime-int8 batch {n}"]["median_ms"]
        / latency[f"onnxruntime batch {n}"]["median_ms"]
        for n in (1, EXPORT_BATCH)
    }
    result = {
        "case": label,
        "arch": card.arch,
        "macs": card.macs,
        "pytorch_top1": card.accuracy,
        "int8": asdict(card.int8),
        "latency": latency,
        "int8_over_float_onnx_median": ratios,
        "loadavg_before": before,
        "loadavg_after": load(),
    }
    print(label, card.arch, f"float {card.int8.float_onnx_top1:.4f} int8 {card.int8.int8_top1:.4f}")
    print("   INT8/float latency", ratios, flush=True)
    return result


VARIANTS = {
    "u8s8 preprocessed (default)": Int8Settings(),
    "u8s8 not preprocessed": Int8Settings(preprocess=False),
    "s8s8 preprocessed": Int8Settings(activation_type="int8"),
}


def optimized_ops(model: bytes, threads: int, work: Path) -> dict[str, int]:
    """Node counts of the graph ONNX Runtime actually runs (after its optimizations)."""
    import onnxruntime as ort

    path = work / "optimized.onnx"
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    options.optimized_model_filepath = str(path)
    ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    return quantized_op_types(path)


def quantization_variants(run: Path, args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    """Activation type and pre-processing: float vs each variant, side by side at batch 1."""
    import torch

    supernet = load_trained_supernet(run)[0]
    results = []
    for label, arch in subnet_cases(run, args.seed)[::2]:  # min and max
        before = load()
        example = torch.randn(1, 3, arch.resolution, arch.resolution)
        model = onnx_bytes(supernet.export(arch), example)
        rng = np.random.default_rng(args.seed)
        batches = [rng.standard_normal(tuple(example.shape), dtype=np.float32) for _ in range(8)]
        models = {"float": model} | {
            name: quantize_onnx_bytes(model, batches, settings)
            for name, settings in VARIANTS.items()
        }
        runners = [onnxruntime_runner(m, example, args.threads) for m in models.values()]
        settings = MeasureSettings(
            backend="onnxruntime", threads=args.threads, warmup=10, repetitions=50, rounds=5
        )
        timings = time_runners(runners, settings, np.random.default_rng(1))
        rows = {
            name: {
                "median_ms": round(t.median_ms, 4),
                "min_ms": round(t.min_ms, 4),
                "over_float_median": round(t.median_ms / timings[0].median_ms, 3),
                "ops_run": optimized_ops(m, args.threads, work),
            }
            for (name, m), t in zip(models.items(), timings, strict=True)
        }
        results.append(
            {
                "case": label,
                "arch": str(arch),
                "batch_size": 1,
                "calibration": "8 random batches (latency only)",
                "variants": rows,
                "loadavg_before": before,
                "loadavg_after": load(),
            }
        )
        print(label, {k: (v["median_ms"], v["over_float_median"]) for k, v in rows.items()})
    return results


def operator_type(op: Any) -> str:
    if op.kind != "mbconv":
        return str(op.kind)
    expand = "expand" if op.expand_conv else "no-expand"
    return f"mbconv k{op.kernel_size} {expand}{' se' if op.use_se else ''} s{op.stride}"


def operator_ratios(supernet: str, num_classes: int, args: argparse.Namespace) -> dict[str, Any]:
    """Every operator at the largest resolution, float and INT8 ONNX in one interleaved set."""
    from onceforall.models.registry import supernet_space

    before = load()
    space = supernet_space(supernet, num_classes)
    space = space.restrict_choices({"resolutions": (max(space.resolutions),)})
    operators = space_operators(space)
    family = family_of(space)
    runners, names = [], []
    for index, op in enumerate(operators):
        for backend in ("onnxruntime", "onnxruntime-int8"):
            settings = MeasureSettings(
                backend=backend, threads=args.threads, warmup=10, repetitions=50, rounds=5
            )
            module, shape = family.operator_torch_module(op, space.layout)
            runners.append(make_runner(module, shape, settings, index))
            names.append((operator_type(op), backend))
    settings = MeasureSettings(backend="onnxruntime", threads=args.threads, warmup=10)
    timings = time_runners(runners, settings, np.random.default_rng(0))
    by_type: dict[str, list[float]] = {}
    for pair in range(0, len(timings), 2):
        float_ms, int8_ms = timings[pair].min_ms, timings[pair + 1].min_ms
        by_type.setdefault(names[pair][0], []).append(int8_ms / float_ms)
    result = {
        "resolution": max(space.resolutions),
        "operators": len(operators),
        "statistic": "min of 50 calls (5 interleaved rounds of 10)",
        "int8_over_float_by_type": {
            name: {
                "operators": len(values),
                "median_ratio": round(statistics.median(values), 3),
                "min_ratio": round(min(values), 3),
                "max_ratio": round(max(values), 3),
            }
            for name, values in sorted(by_type.items())
        },
        "loadavg_before": before,
        "loadavg_after": load(),
    }
    for name, entry in result["int8_over_float_by_type"].items():  # type: ignore[union-attr]
        print(f"   {name}: {entry}")
    return result


def int8_table(
    supernet: str, num_classes: int, args: argparse.Namespace, work: Path
) -> dict[str, Any]:
    before = load()
    table = work / "int8_table.json"
    settings = MeasureSettings(
        backend="onnxruntime-int8", threads=args.threads, warmup=10, repetitions=50
    )
    built = build_latency_table(
        BuildConfig(supernet, table, settings, num_classes=num_classes, progress=False)
    )
    report = validate_latency_table(
        ValidateConfig(table, n=args.validate_n, calibration=args.validate_calibration)
    )
    result = {
        "operators": built.operators,
        "build_seconds": round(built.seconds, 1),
        "validation_networks": report.networks,
        "calibration_networks": report.calibration_networks,
        "without_correction": asdict(report.raw),
        "with_correction": asdict(report.corrected),
        "correction": report.correction.to_json(),
        "validate_seconds": round(report.seconds, 1),
        "loadavg_before": before,
        "loadavg_after": load(),
    }
    print("INT8 table", result["without_correction"], result["with_correction"], flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", type=Path)
    parser.add_argument("--test-images", type=int, default=10000)
    parser.add_argument("--calibration-images", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repetitions", type=int, default=50)
    parser.add_argument("--validate-n", type=int, default=30)
    parser.add_argument("--validate-calibration", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=("subnets", "variants", "operators", "table")
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/int8.json"))
    args = parser.parse_args()
    _, _, payload = load_trained_supernet(args.run)
    supernet, num_classes = str(payload["supernet"]), int(payload["num_classes"])
    del payload
    started = time.perf_counter()
    output: dict[str, Any] = {
        "command": "python " + " ".join(sys.argv),
        "note": "shared 2-core machine under other training jobs: timings are noisy; float and "
        "INT8 are always timed side by side (interleaved) so load hits both alike; "
        "loadavg_* is os.getloadavg() (1, 5, 15 min)",
        "run": str(args.run.absolute()),
        "supernet": supernet,
        "training": run_training(args.run),
        "threads": args.threads,
        "quantization": Int8Settings().describe(),
        "machine": machine_description(),
        "versions": backend_versions("onnxruntime-int8"),
        "subnets": [],
    }

    def save() -> None:
        output["seconds"] = round(time.perf_counter() - started, 1)
        atomic_write_json(args.out, output)

    with tempfile.TemporaryDirectory(prefix="bench-int8-") as folder:
        work = Path(folder)
        if "subnets" not in args.skip:
            for label, arch in subnet_cases(args.run, args.seed):
                output["subnets"].append(measure_subnet(args.run, label, arch, args, work))
                save()
        if "variants" not in args.skip:
            output["quantization_variants"] = quantization_variants(args.run, args, work)
            save()
        if "operators" not in args.skip:
            output["operators"] = operator_ratios(supernet, num_classes, args)
            save()
        if "table" not in args.skip:
            output["int8_table"] = int8_table(supernet, num_classes, args, work)
            save()


if __name__ == "__main__":
    main()
