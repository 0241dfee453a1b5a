"""Claim 4: the searched sub-networks beat simple alternatives at the same latency.

    python benchmarks/claims/search_quality.py [--random-pool 1000] [--config --runs --results]
    # after predictor_quality.py

For three latency budgets on this machine (the 10/50/90% quantiles of the latency table's
prediction over random sub-networks, as `ofa demo` picks them), three ways to choose a
sub-network of the progressive-shrinking supernet:

- `search`: the paper's evolutionary search with the fitted accuracy predictor and the table;
- `random`: the best, by measured held-out accuracy, of the first --random-pool measured random
  sub-networks of the accuracy dataset (predictor_quality.py) whose table latency fits the
  budget;
- `uniform`: MobileNetV3-style scaling of the max sub-network: one expand ratio, one depth and
  one resolution for all blocks (kernel 7), the largest (MACs) whose table latency fits.

Each pick is measured end to end (torch, 2 threads, batch 1, as the table), on the test split
and on the held-out images the accuracy dataset used (--eval-images); the plot shows the test
accuracy against measured latency (left) and, beside the whole random pool, held-out accuracy
against table latency (right). The picks' latencies are measured together, in one process.
Resumable (the table and the measurements are cached under RUNS). Writes
RESULTS/search_quality.json + .png. Wall time on the 2-core machine: 3.4 min with the defaults
(the latency table already built; building it adds ~10 s).
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from study import Study, label_axes, new_figure, study_from_args, study_parser, test_accuracies

from onceforall.atomic_files import atomic_write_json
from onceforall.demo.pipeline import latency_budgets
from onceforall.latency.build import BuildConfig, build_latency_table
from onceforall.latency.load import load_latency_table
from onceforall.latency.networks import measure_networks
from onceforall.latency.settings import MeasureSettings
from onceforall.models.registry import create_supernet
from onceforall.predict.accuracy import load_predictor
from onceforall.predict.dataset import candidates, heldout_evaluator, read_done
from onceforall.run.datasets import build_run_data
from onceforall.run.trained import load_trained_supernet
from onceforall.search.constraints import Budget
from onceforall.search.evolution import evolution_search
from onceforall.search.problem import search_problem

SETTINGS = MeasureSettings(backend="torch", threads=2)
QUANTILES = (0.1, 0.5, 0.9)


def uniform_pick(space: Any, latency: Any, budget: float) -> Any | None:
    """The largest (MACs) uniformly scaled max sub-network within `budget` (None: none fits)."""
    fitting = []
    for expand, depth, resolution in itertools.product(
        space.expand_ratios, space.depths, space.resolutions
    ):
        arch = space.restrict(
            kernel_sizes=[max(space.kernel_sizes)],
            expand_ratios=[expand],
            depths=[depth],
            resolutions=[resolution],
        ).max()
        if latency.predict(arch) <= budget:
            fitting.append(arch)
    return max(fitting, key=space.macs, default=None)


def random_pool(study: Study, space: Any, size: int) -> dict[str, float]:
    """Held-out accuracy of the first `size` measured random sub-networks (candidate order)."""
    records = read_done([study.dataset])
    archs = [str(arch) for arch in candidates(space, size, seed=0)]
    missing = [arch for arch in archs if arch not in records]
    if missing:
        raise SystemExit(
            f"error: {len(missing)} of the first {size} random sub-networks are not measured in "
            f"{study.dataset}: run predictor_quality.py with at least that many, or a smaller "
            "--random-pool"
        )
    return {arch: float(records[arch]["accuracy"]) for arch in archs}


def random_pick(
    space: Any, latency: Any, budget: float, pool: dict[str, float]
) -> tuple[Any | None, int]:
    """The best measured (held-out) pool sub-network within `budget`, and how many fit."""
    fitting = [a for a in map(space.parse, pool) if latency.predict(a) <= budget]
    best = max(fitting, key=lambda a: pool[str(a)], default=None)
    return best, len(fitting)


def heldout_accuracies(run_dir: Path, archs: list[str], eval_images: int) -> dict[str, float]:
    """Top-1 (fraction) on the first `eval_images` held-out images, as the accuracy dataset."""
    net, config, _ = load_trained_supernet(run_dir)
    if config.training.threads is not None:
        torch.set_num_threads(config.training.threads)
    data = build_run_data(config.data, config.seed)
    evaluator = heldout_evaluator(config, data, eval_images, torch.device("cpu"))
    return {arch: evaluator.evaluate(net, net.space.parse(arch)).accuracy for arch in archs}


def measured_latency(name: str, classes: int, archs: list[Any]) -> dict[str, dict[str, float]]:
    samples: dict[str, list[int]] = {}
    measure_networks(
        archs,
        lambda: create_supernet(name, num_classes=classes),
        SETTINGS,
        samples,
        lambda: None,
        chunk_size=len(archs),
        progress=True,
    )
    return {
        arch: {"median_ms": float(np.median(ns)) / 1e6, "min_ms": float(np.min(ns)) / 1e6}
        for arch, ns in samples.items()
    }


def main() -> None:
    parser = study_parser(__doc__)
    parser.add_argument("--random-pool", type=int, default=1000)
    parser.add_argument("--eval-images", type=int, default=5000, help="as predictor_quality.py")
    args = parser.parse_args()
    study = study_from_args(args)
    start = time.perf_counter()
    supernet_dir = study.ps_run()
    if not study.predictor.is_file():
        raise SystemExit("error: run benchmarks/claims/predictor_quality.py first")
    net, _, payload = load_trained_supernet(supernet_dir)
    name, classes = payload["supernet"], payload["num_classes"]
    table = study.latency_table
    if not table.is_file():
        build_latency_table(
            BuildConfig(supernet=name, out=table, settings=SETTINGS, num_classes=classes)
        )
    latency = load_latency_table(table, net.space)
    space = latency.space
    budgets = latency_budgets(latency, space, QUANTILES, seed=0)
    problem = search_problem(space, load_predictor(study.predictor), latency, supernet=name)
    pool = random_pool(study, space, args.random_pool)
    searched = evolution_search(problem, [Budget(max_latency_ms=b) for b in budgets], seed=0)
    picks: list[dict[str, Any]] = []
    for budget, result in zip(budgets, searched, strict=True):
        random_arch, fitting = random_pick(space, latency, budget, pool)
        candidates = {
            "search": result.arch,
            "random": random_arch,
            "uniform": uniform_pick(space, latency, budget),
        }
        for method, arch in candidates.items():
            if arch is None:
                print(f"{method}: nothing within {budget} ms")
                continue
            picks.append(
                {
                    "budget_ms": budget,
                    "method": method,
                    "arch": str(arch),
                    "macs": space.macs(arch),
                    "table_latency_ms": latency.predict(arch),
                    **({"random_pool_within_budget": fitting} if method == "random" else {}),
                    **(
                        {"predicted_accuracy": result.predicted_accuracy}
                        if method == "search"
                        else {}
                    ),
                }
            )
    archs = sorted({p["arch"] for p in picks})
    cache = study.runs / "search_quality_measurements.json"
    measured = json.loads(cache.read_text()) if cache.is_file() else {"accuracy": {}, "latency": {}}
    heldout = measured.setdefault("heldout", {})
    unmeasured = [a for a in archs if a not in heldout and a not in pool]
    if unmeasured:
        heldout.update(heldout_accuracies(supernet_dir, unmeasured, args.eval_images))
        atomic_write_json(cache, measured)
    untested = [a for a in archs if a not in measured["accuracy"]]
    if untested:
        measured["accuracy"].update(test_accuracies(supernet_dir, untested))
        atomic_write_json(cache, measured)
    if any(a not in measured["latency"] for a in archs):
        # every pick in one measurement, so that they share the machine's conditions
        measured["latency"] = measured_latency(name, classes, [space.parse(a) for a in archs])
        atomic_write_json(cache, measured)
    accuracy, timing = measured["accuracy"], measured["latency"]
    for pick in picks:
        pick["test_accuracy"] = accuracy[pick["arch"]]
        pick["measured_latency_ms"] = timing[pick["arch"]]
        pick["heldout_accuracy"] = pool.get(pick["arch"], heldout.get(pick["arch"]))
        measured_ms = pick["measured_latency_ms"]["median_ms"]
        print(
            f"{pick['budget_ms']:.3f} ms {pick['method']:8s} "
            f"test {100 * pick['test_accuracy']:.2f}% measured {measured_ms:.3f} ms"
        )
    wins = {budget: search_beats_random(picks, budget) for budget in budgets}
    pool_points = [(latency.predict(space.parse(a)), acc) for a, acc in pool.items()]
    plot(study, picks, budgets, pool_points)
    study.write_result(
        "search_quality.json",
        {
            "supernet_run": str(supernet_dir),
            "latency_table": str(table),
            "settings": {"backend": SETTINGS.backend, "threads": SETTINGS.threads, "batch": 1},
            "budget_quantiles": list(QUANTILES),
            "budgets_ms": budgets,
            "random_pool": len(pool),
            "heldout_eval_images": args.eval_images,
            "picks": picks,
            "goal": "the search's pick beats the best measured random sub-network at every budget "
            "(test split)",
            "search_beats_random": {f"{b:.3f}": won for b, won in wins.items()},
            "goal_met": all(won is True for won in wins.values()),
        },
        start,
    )


def search_beats_random(picks: list[dict[str, Any]], budget: float) -> bool | None:
    """Whether the search's pick has a higher test accuracy than the random pick at `budget`
    (None when either has no pick)."""
    chosen = {p["method"]: p for p in picks if p["budget_ms"] == budget}
    if "search" not in chosen or "random" not in chosen:
        return None
    return bool(chosen["search"]["test_accuracy"] > chosen["random"]["test_accuracy"])


def plot(
    study: Study,
    picks: list[dict[str, Any]],
    budgets: list[float],
    pool: list[tuple[float, float]],
) -> None:
    figure, (left, right) = new_figure(11, 4.5, columns=2)
    markers = {"search": "o", "random": "s", "uniform": "^"}
    for method, marker in markers.items():
        mine = [p for p in picks if p["method"] == method]
        left.scatter(
            [p["measured_latency_ms"]["median_ms"] for p in mine],
            [100 * p["test_accuracy"] for p in mine],
            marker=marker,
            s=45,
            label=method,
        )
        right.scatter(
            [p["table_latency_ms"] for p in mine],
            [100 * p["heldout_accuracy"] for p in mine],
            marker=marker,
            s=45,
            label=method,
            zorder=3,
        )
    label_axes(
        left,
        "measured latency (ms, batch 1, torch, 2 threads)",
        "Fashion-MNIST test top-1 (%)",
        "Picks: measured",
    )
    ms, accuracy = np.array(pool).T
    right.scatter(ms, 100 * accuracy, s=5, color="0.75", label=f"random pool ({len(pool)})")
    order = np.argsort(ms)
    right.step(
        ms[order], 100 * np.maximum.accumulate(accuracy[order]), where="post", color="0.5", lw=1
    )
    for budget in budgets:
        right.axvline(budget, color="0.8", lw=0.8, ls="--")
    label_axes(
        right,
        "table latency (ms; dashed: budgets)",
        "held-out top-1 (%)",
        "Picks beside the random pool and its front",
    )
    study.save_figure(figure, "search_quality.png")


if __name__ == "__main__":
    main()
