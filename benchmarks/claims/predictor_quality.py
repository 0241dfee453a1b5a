"""Claim 3: the accuracy predictor can be trusted, and how many measured sub-networks it needs.

    python benchmarks/claims/predictor_quality.py [--sizes 250 500 1000 2000] [--test 250]
                                                  [--eval-images 5000] [--config --runs ...]

Measures max(--sizes) + --test distinct random sub-networks of the progressive-shrinking
supernet (BN re-calibrated, top-1 on the first --eval-images held-out images: `ofa predictor
dataset`, resumable), then fits the paper's MLP on the first n records for each n and reports
RMSE (percentage points) and Kendall tau on the same last --test records, never used for
fitting. The noise ceiling: the --test sub-networks measured again on each half of those images
(disjoint, same BN calibration); how well two such measurements agree bounds how well any
predictor fitted on them can rank (see `noise_ceiling`). The latency half of the claim (table vs
end-to-end measurement) is benchmarks/bench_latency.py's result for the same supernet, quoted
here. Writes benchmarks/results/claims/predictor_quality.json + .png and leaves the predictor
fitted on the largest n in RUNS/predictor/ for search_quality.py. Wall time: in the JSON.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from study import ROOT, Study, new_figure, study_from_args, study_parser
from tqdm import tqdm

from onceforall.latency.metrics import kendall_tau
from onceforall.predict.dataset import (
    append_line,
    build_accuracy_dataset,
    candidates,
    heldout_evaluator,
    read_done,
)
from onceforall.predict.fit import fit_predictor
from onceforall.predict.fit_config import FitConfig
from onceforall.predict.records import AccuracyRecords
from onceforall.predict.report import evaluate_predictor
from onceforall.predict.workflows import mbv3_space
from onceforall.run.datasets import build_run_data
from onceforall.run.trained import load_trained_supernet


def latency_quote() -> dict[str, Any] | None:
    path = ROOT / "benchmarks" / "results" / "latency_small_input.json"
    return json.loads(path.read_text()) if path.is_file() else None


def records_in_candidate_order(study: Study, space: Any, total: int) -> AccuracyRecords:
    """The dataset's first `total` records in the order `ofa predictor dataset` drew them: the
    first n records are then the dataset a run with --n n would have measured."""
    measured = read_done([study.dataset])
    archs = candidates(space, total, seed=0)
    return AccuracyRecords(
        space.to_population(archs),
        np.array([measured[str(arch)]["accuracy"] for arch in archs], dtype=np.float64),
    )


def half_measurements(
    study: Study, supernet_dir: Path, archs: list[str], eval_images: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Top-1 of `archs` on each half of the first `eval_images` held-out images (same BN
    calibration as the dataset's). Resumable (RUNS/accuracy/halves.jsonl)."""
    net, config, _ = load_trained_supernet(supernet_dir)
    data = build_run_data(config.data, config.seed)
    half = min(eval_images, len(data.holdout)) // 2
    path = study.dataset.with_name("halves.jsonl")
    done = read_done([path])
    todo = [arch for arch in archs if arch not in done]
    if todo:
        if config.training.threads is not None:
            torch.set_num_threads(config.training.threads)
        first, second = (
            heldout_evaluator(config, data, half, torch.device("cpu"), offset=offset)
            for offset in (0, half)
        )
        for arch in tqdm(todo, desc="measurements on each half"):
            value = net.space.parse(arch)
            append_line(
                path,
                {
                    "arch": arch,
                    "images": half,
                    "first_half": first.evaluate(net, value).accuracy,
                    "second_half": second.evaluate(net, value).accuracy,
                },
            )
        done = read_done([path])
    return (
        np.array([done[arch]["first_half"] for arch in archs], dtype=np.float64),
        np.array([done[arch]["second_half"] for arch in archs], dtype=np.float64),
        half,
    )


def noise_ceiling(first: np.ndarray, second: np.ndarray, images: int) -> dict[str, Any]:
    """How far two independent measurements (disjoint halves of the held-out images) agree.

    Their Kendall tau bounds the ranking any predictor fitted on such measurements can reach
    against a measurement of that size. For measurements on both halves together (the dataset's),
    the ceiling is estimated with the Spearman-Brown formula on Greiner's r = sin(pi tau / 2)
    (exact for bivariate normal data): r2 = 2 r / (1 + r), tau2 = 2 arcsin(r2) / pi.
    """
    tau = kendall_tau(first, second)
    r = np.sin(np.pi * tau / 2)
    doubled = 2 * r / (1 + r) if r > -1 else -1.0
    return {
        "images_per_half": images,
        "kendall_tau_between_halves": tau,
        "rmse_between_halves_pp": float(100 * np.sqrt(np.mean((first - second) ** 2))),
        "estimated_kendall_tau_ceiling_at_both_halves": float(2 * np.arcsin(doubled) / np.pi),
    }


def main() -> None:
    parser = study_parser(__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000, 2000])
    parser.add_argument("--test", type=int, default=250)
    parser.add_argument("--eval-images", type=int, default=5000)
    args = parser.parse_args()
    study = study_from_args(args)
    start = time.perf_counter()
    supernet_dir = study.ps_run()
    total = max(args.sizes) + args.test
    summary = build_accuracy_dataset(
        supernet_dir, total, out=study.dataset, seed=0, eval_images=args.eval_images
    )
    _, _, payload = load_trained_supernet(supernet_dir)
    space = mbv3_space(payload["supernet"], payload["num_classes"])
    records = records_in_candidate_order(study, space, total)
    held_out = records.subset(np.arange(total - args.test, total))
    rows = []
    predicted_last: np.ndarray | None = None
    for n in sorted(args.sizes):
        fit = fit_predictor(
            space,
            records.subset(np.arange(n)),
            FitConfig(),
            supernet=payload["supernet"],
            progress=False,
        )
        report, predicted_last = evaluate_predictor(fit.predictor, space, held_out)
        rows.append({**report.to_json(), "training_subnetworks": n, "best_epoch": fit.best_epoch})
        print(f"n={n}: RMSE {report.rmse_pp:.2f} pp, tau {report.kendall_tau:.3f}")
        if n == max(args.sizes):
            fit.predictor.save(study.predictor)
    accuracy = 100 * records.accuracy[:total]
    held_out_archs = [str(arch) for arch in space.from_population(held_out.population)]
    first, second, half = half_measurements(study, supernet_dir, held_out_archs, args.eval_images)
    ceiling = noise_ceiling(first, second, half)
    print(f"noise ceiling: {ceiling}")
    plot(study, rows, 100 * held_out.accuracy, 100 * np.asarray(predicted_last))
    study.write_result(
        "predictor_quality.json",
        {
            "supernet_run": str(supernet_dir),
            "dataset": str(study.dataset),
            "records": total,
            "dataset_seconds_this_call": round(summary.seconds, 1),
            "held_out_records": args.test,
            "eval_images": args.eval_images,
            "measured_accuracy_percent": {
                "min": float(accuracy.min()),
                "median": float(np.median(accuracy)),
                "max": float(accuracy.max()),
            },
            "by_training_size": rows,
            "noise_ceiling": ceiling,
            "goal": "RMSE <= 0.5 pp and Kendall tau >= 0.7 with 2,000 fitting sub-networks",
            "goal_met": bool(rows[-1]["rmse_pp"] <= 0.5 and rows[-1]["kendall_tau"] >= 0.7),
            "latency_tables": latency_quote(),
        },
        start,
    )


def plot(
    study: Study, rows: list[dict[str, Any]], measured: np.ndarray, predicted: np.ndarray
) -> None:
    figure, (left, right) = new_figure(9, 4, columns=2)
    sizes = [r["training_subnetworks"] for r in rows]
    left.plot(sizes, [r["rmse_pp"] for r in rows], "o-", label="RMSE (pp)")
    left.set_xlabel("training sub-networks")
    left.set_ylabel("held-out RMSE (pp)")
    twin = left.twinx()
    twin.plot(sizes, [r["kendall_tau"] for r in rows], "s--", color="C1")
    twin.set_ylabel("Kendall tau", color="C1")
    right.scatter(measured, predicted, s=8, alpha=0.6)
    low = float(min(measured.min(), predicted.min()))
    high = float(max(measured.max(), predicted.max()))
    right.plot([low, high], [low, high], color="0.6", lw=1)
    right.set_xlabel("measured held-out top-1 (%)")
    right.set_ylabel(f"predicted top-1 (%), {rows[-1]['training_subnetworks']} for fitting")
    study.save_figure(figure, "predictor_quality.png")


if __name__ == "__main__":
    main()
