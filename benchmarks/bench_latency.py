"""Latency tables: build + validate on this machine, and reference-table prediction speed.

    python benchmarks/bench_latency.py [--backends torch onnxruntime] [--threads 2] [--n 50]
        [--rounds 0] [--imagenet] [--out benchmarks/results/latency_small_input.json]

1. For each backend: build a table for `ofa_mbv3_w10_small_input` (24/28/32 px, 10 classes) from
   scratch, then validate it on `--n` random sub-networks measured end to end (plus 20 separate
   calibration networks for the correction). Reported: build time, distinct operators, MAPE and
   Kendall tau with and without the correction, for the min and median statistics. Baseline in the
   same run: latency predicted from MACs (offset + slope fitted on the same calibration networks).
2. Prediction throughput with the reference's Note10 tables for `ofa_mbv3_w12`: our vectorized
   `predict_population` against the reference's `LatencyTable.predict_efficiency` (one arch dict
   at a time) when the reference is installed; max abs difference of the predictions.
3. `--imagenet`: time to build a full table for `ofa_mbv3_w10` at 160 and 224 px (torch backend).

Repeatability: the validation networks are measured a second time (a separate run), and the
Kendall tau / mean relative difference between the two measurements bounds what any predictor can
reach against one measurement on this machine at this load.

The machine is shared: timings move with other processes' load (see `load_average` in the JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import types
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from onceforall.arch.mbv3 import MBv3Space
from onceforall.atomic_files import atomic_write_json
from onceforall.latency.build import BuildConfig, build_latency_table
from onceforall.latency.load import load_latency_table
from onceforall.latency.metrics import AgreementMetrics, fit_correction, kendall_tau
from onceforall.latency.settings import MeasureSettings
from onceforall.latency.validate import ValidateConfig, validate_latency_table
from onceforall.models.registry import supernet_space

ROOT = Path(__file__).resolve().parents[1]
NOTE10 = ROOT.parent / "shared" / "reference-data" / "ofa" / "note10"
SUPERNET = "ofa_mbv3_w10_small_input"


def macs_baseline(report_path: Path, statistic: str) -> dict[str, Any]:
    """Latency ~ offset + slope * MACs, fitted on the calibration networks of a validation run."""
    report = json.loads(report_path.read_text())
    space = supernet_space(SUPERNET)
    assert isinstance(space, MBv3Space)
    archs = [space.parse(text) for text in report["networks"]]
    roles = np.array([entry["role"] for entry in report["networks"].values()])
    key = "min_ms" if statistic == "min" else "median_ms"
    measured = np.array([entry["measured"][key] for entry in report["networks"].values()])
    macs = space.macs_population(space.to_population(archs)).astype(np.float64)
    calibration, validation = roles == "calibration", roles == "validation"
    fit = fit_correction(
        macs[calibration], macs[calibration], measured[calibration], per_block=False
    )
    predicted = fit.apply(macs, macs)
    metrics = AgreementMetrics.of(predicted[validation], measured[validation])
    return {"ms_per_mmac": fit.scale * 1e6, "offset_ms": fit.offset_ms, **metrics.__dict__}


def repeatability(first: Path, second: Path) -> dict[str, Any]:
    """How well two end-to-end measurements of the same validation networks agree."""
    a = json.loads(first.read_text())["networks"]
    b = json.loads(second.read_text())["networks"]
    names = [arch for arch, entry in a.items() if entry["role"] == "validation"]
    result: dict[str, Any] = {}
    for statistic in ("min", "median"):
        key = f"{statistic}_ms"
        x = np.array([a[arch]["measured"][key] for arch in names])
        y = np.array([b[arch]["measured"][key] for arch in names])
        result[statistic] = {
            "kendall_tau": kendall_tau(x, y),
            "mean_abs_relative_difference_percent": float(np.mean(np.abs(y - x) / x) * 100),
        }
    return result


def bench_backend(backend: str, threads: int, rounds: int, n: int, work: Path) -> dict[str, Any]:
    table = work / f"{SUPERNET}_{backend}_t{threads}{f'_r{rounds}' if rounds else ''}.json"
    table.unlink(missing_ok=True)
    table.with_suffix(".validation.json").unlink(missing_ok=True)
    settings = MeasureSettings(backend=backend, threads=threads, rounds=rounds)  # type: ignore[arg-type]
    built = build_latency_table(BuildConfig(SUPERNET, table, settings))
    report = validate_latency_table(ValidateConfig(table, n=n, calibration=20))
    content = json.loads(report.path.read_text())
    retest = table.with_suffix(".retest.json")
    retest.unlink(missing_ok=True)
    validate_latency_table(ValidateConfig(table, n=n, calibration=20, out=retest))
    result: dict[str, Any] = {
        "backend": backend,
        "threads": threads,
        "settings": settings.__dict__,
        "distinct_operators": built.operators,
        "build_seconds": round(built.seconds, 2),
        "validate_seconds": round(report.seconds, 2),
        "validation_networks": n,
        "calibration_networks": 20,
        "statistic": content["statistic"],
        "by_statistic": content["by_statistic"],
        "macs_baseline": {
            statistic: macs_baseline(report.path, statistic) for statistic in ("min", "median")
        },
        "repeatability": repeatability(report.path, retest),
        "table": str(table.relative_to(ROOT)) if table.is_relative_to(ROOT) else str(table),
    }
    primary = content["statistic"]
    ours = content["by_statistic"][primary]["with_correction"]
    baseline = result["macs_baseline"][primary]
    result["mape_ratio_vs_macs_baseline"] = ours["mape_percent"] / baseline["mape_percent"]
    return result


def _reference_tutorial() -> Any:
    from onceforall.compat.reference_oracle import import_reference

    sys.modules.setdefault("gdown", types.ModuleType("gdown"))  # imported by ofa.tutorial, unused
    return import_reference("ofa.tutorial.latency_table")


def bench_prediction(archs: int, reference_archs: int) -> dict[str, Any]:
    space = supernet_space("ofa_mbv3_w12", 1000)
    assert isinstance(space, MBv3Space)
    started = time.perf_counter()
    model = load_latency_table(NOTE10, space)
    load_seconds = time.perf_counter() - started
    population = model.space.sample_population(archs, np.random.default_rng(0))
    model.predict_population(population[:10])
    times = []
    for _ in range(5):
        started = time.perf_counter()
        ours = model.predict_population(population)
        times.append(time.perf_counter() - started)
    rate = archs / float(np.median(times))
    result: dict[str, Any] = {
        "supernet": "ofa_mbv3_w12",
        "tables": "reference-data/ofa/note10",
        "load_seconds": round(load_seconds, 3),
        "archs": archs,
        "onceforall_archs_per_s": round(rate),
    }
    try:
        tutorial = _reference_tutorial()
    except ImportError as error:
        result["reference"] = f"not installed: {error}"
        return result
    reference = object.__new__(tutorial.LatencyTable)
    reference.latency_tables = {}
    for resolution in model.resolutions:
        estimator = object.__new__(tutorial.LatencyEstimator)
        with (NOTE10 / f"{resolution}_lookup_table.yaml").open() as stream:
            estimator.lut = yaml.safe_load(stream)
        reference.latency_tables[resolution] = estimator
    dicts = [model.space.to_reference_dict(a) for a in model.space.from_population(population)]
    started = time.perf_counter()
    expected = [reference.predict_efficiency(d) for d in dicts[:reference_archs]]
    reference_rate = reference_archs / (time.perf_counter() - started)
    result.update(
        reference_archs=reference_archs,
        reference_archs_per_s=round(reference_rate),
        speedup=round(rate / reference_rate, 1),
        max_abs_diff_ms=float(np.max(np.abs(ours[:reference_archs] - np.array(expected)))),
    )
    return result


def bench_imagenet(threads: int, work: Path) -> dict[str, Any]:
    table = work / f"ofa_mbv3_w10_r160_224_torch_t{threads}.json"
    table.unlink(missing_ok=True)
    settings = MeasureSettings(backend="torch", threads=threads)
    built = build_latency_table(
        BuildConfig("ofa_mbv3_w10", table, settings, num_classes=1000, resolutions=(160, 224))
    )
    return {
        "supernet": "ofa_mbv3_w10",
        "resolutions": [160, 224],
        "backend": "torch",
        "threads": threads,
        "distinct_operators": built.operators,
        "build_seconds": round(built.seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["torch", "onnxruntime"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--rounds", type=int, default=0, help="operator timing rounds (0: backend default)"
    )
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--imagenet", action="store_true")
    parser.add_argument("--prediction-archs", type=int, default=100_000)
    parser.add_argument("--reference-archs", type=int, default=2000)
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "results" / "latency")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "latency_small_input.json"
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "command": " ".join(["python", "benchmarks/bench_latency.py", *sys.argv[1:]]),
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
        },
        "load_average_at_start": os.getloadavg(),
        "supernet": SUPERNET,
        "backends": {},
    }
    for backend in args.backends:
        results["backends"][backend] = bench_backend(
            backend, args.threads, args.rounds, args.n, args.work
        )
        results["load_average_after_" + backend] = os.getloadavg()
        atomic_write_json(args.out, results)
    if NOTE10.is_dir():
        results["reference_tables_prediction"] = bench_prediction(
            args.prediction_archs, args.reference_archs
        )
    if args.imagenet:
        results["imagenet_build"] = bench_imagenet(args.threads, args.work)
        results["load_average_after_imagenet"] = os.getloadavg()
    atomic_write_json(args.out, results)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
