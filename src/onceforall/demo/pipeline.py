"""The demo as a sequence of resumable steps, each the library call a user would make.

    OUT/supernet/        ofa train    (onceforall/demo/fashion_mnist.yaml)
    OUT/supernet/latency/table.json   ofa latency build (this machine, torch, batch 1)
    OUT/supernet/predictor/           ofa predictor dataset + fit
    OUT/search/          ofa search   (three latency budgets + the Pareto front)
    OUT/export/<budget>/ ofa export   (ONNX/TorchScript/PyTorch, verified, model card)
    OUT/summary.json, OUT/pareto.png, OUT/summary.md

Every step leaves its output in place; a re-run skips what is done (training resumes).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from onceforall.atomic_files import atomic_write_json
from onceforall.errors import ConfigError, OnceForAllError
from onceforall.optional_extras import require
from onceforall.run_lock import run_lock
from onceforall.value_checks import MAX_THREADS, check_count, check_range, check_seed

MIN_DATASET_SIZE = 10


@dataclass(frozen=True)
class DemoConfig:
    out: Path
    config: Path  # the training config
    dataset_size: int = 80  # sub-networks measured for the accuracy predictor
    threads: int = 2  # latency table and measured latency use the same setting
    budget_quantiles: tuple[float, float, float] = (0.1, 0.5, 0.9)
    seed: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        # the predictor holds out a fifth of the records and needs two of them to report on
        check_count("--dataset-size", self.dataset_size, at_least=MIN_DATASET_SIZE)
        check_count("--threads", self.threads, at_most=MAX_THREADS)
        check_seed("seed", self.seed)
        for quantile in self.budget_quantiles:
            check_range("budget quantile", quantile, above=0.0, below=1.0)


@dataclass(frozen=True)
class StepTiming:
    name: str
    seconds: float
    skipped: bool


def _step(
    timings: list[StepTiming],
    name: str,
    done: bool,
    action: Callable[[], Any],
    say: Callable[[str], None],
) -> None:
    start = time.perf_counter()
    if done:
        say(f"[{name}] done before, skipped")
    else:
        say(f"[{name}] ...")
        action()
    timings.append(StepTiming(name, time.perf_counter() - start, done))


def _predictor_current(predictor_dir: Path, dataset: Path) -> bool:
    """A predictor exists and was fit on every record of the dataset (else: fit again)."""
    report = predictor_dir / "report.json"
    if not (predictor_dir / "predictor.pt").is_file() or not report.is_file():
        return False
    records = sum(1 for line in dataset.read_text().splitlines() if line.strip())
    return bool(json.loads(report.read_text()).get("records") == records)


def latency_budgets(model: Any, space: Any, quantiles: tuple[float, ...], seed: int) -> list[float]:
    """Budgets at quantiles of the predicted latency of random sub-networks (ms, 3 decimals)."""
    population = space.sample_population(2000, np.random.default_rng([seed, 106]))
    latencies = model.predict_population(population)
    return [round(float(np.quantile(latencies, q)), 3) for q in quantiles]


def run_demo(config: DemoConfig, say: Callable[[str], None] = print) -> dict[str, Any]:
    """The whole demo into `config.out`, locked for this process (see the module doc)."""
    require(("onnx", "onnxruntime"), "ofa demo (it exports to ONNX)", "deploy", ConfigError)
    with run_lock(config.out):
        return _run_demo(config, say)


def _run_demo(config: DemoConfig, say: Callable[[str], None]) -> dict[str, Any]:
    from onceforall.efficiency.latency import load_latency_table
    from onceforall.efficiency.latency_build import BuildConfig, build_latency_table
    from onceforall.efficiency.latency_settings import MeasureSettings
    from onceforall.predict.dataset import build_accuracy_dataset
    from onceforall.predict.workflows import fit_from_dataset
    from onceforall.run.checkpoints import load_checkpoint
    from onceforall.run.config import load_run_config
    from onceforall.run.trained import load_trained_supernet
    from onceforall.search.constraints import Budget
    from onceforall.search.run import SearchRequest, run_search
    from onceforall.train.run import train

    start = time.perf_counter()
    out = config.out
    run_dir = out / "supernet"
    table = run_dir / "latency" / "table.json"
    predictor_dir = run_dir / "predictor"
    search_dir = out / "search"
    run_config = load_run_config(config.config)
    timings: list[StepTiming] = []
    settings = MeasureSettings(backend="torch", threads=config.threads)

    def trained() -> bool:
        try:
            return bool(load_checkpoint(run_dir)["complete"])
        except OnceForAllError:
            return False

    _step(
        timings,
        "train supernet",
        trained(),
        lambda: train(run_config, run_dir, resume=True, progress=config.progress),
        say,
    )
    net, _, payload = load_trained_supernet(run_dir)
    name, classes = payload["supernet"], payload["num_classes"]
    _step(
        timings,
        "latency table",
        table.is_file(),
        lambda: build_latency_table(
            BuildConfig(
                supernet=name,
                out=table,
                settings=settings,
                num_classes=classes,
                progress=config.progress,
            )
        ),
        say,
    )
    dataset = predictor_dir / "dataset.jsonl"
    _step(
        timings,
        "accuracy dataset",
        False,
        lambda: build_accuracy_dataset(
            run_dir, config.dataset_size, seed=config.seed, progress=config.progress
        ),
        say,
    )
    _step(
        timings,
        "fit predictor",
        _predictor_current(predictor_dir, dataset),
        lambda: fit_from_dataset(
            dataset,
            name,
            predictor_dir,
            num_classes=classes,
            progress=config.progress,
            overwrite=True,  # fit again on a dataset that grew
        ),
        say,
    )
    latency = load_latency_table(table, net.space, name)
    budgets = latency_budgets(latency, latency.space, config.budget_quantiles, config.seed)
    _step(
        timings,
        "search",
        (search_dir / "search.json").is_file(),
        lambda: run_search(
            SearchRequest(
                supernet=name,
                predictor=predictor_dir / "predictor.pt",
                out=search_dir,
                budgets=tuple(Budget(max_latency_ms=b) for b in budgets),
                num_classes=classes,
                latency_table=table,
                pareto=True,
                seed=config.seed,
                progress=config.progress,
            )
        ),
        say,
    )
    from onceforall.demo.report import export_picks, write_summary

    cards = export_picks(out, run_dir, search_dir, settings, timings, say, config.progress)
    summary = write_summary(out, run_dir, search_dir, budgets, cards, timings, start)
    atomic_write_json(out / "summary.json", summary)
    return summary
