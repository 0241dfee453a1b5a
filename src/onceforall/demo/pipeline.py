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
from typing import TYPE_CHECKING, Any

import numpy as np

from onceforall.atomic_files import atomic_write_json
from onceforall.errors import ConfigError, OnceForAllError
from onceforall.optional_extras import require
from onceforall.run.layout import LATENCY_FOLDER, PREDICTOR_FILE, PREDICTOR_FOLDER
from onceforall.run_lock import run_lock
from onceforall.value_checks import MAX_THREADS, check_count, check_range, check_seed

if TYPE_CHECKING:
    from onceforall.latency.settings import MeasureSettings

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


@dataclass(frozen=True)
class DemoPaths:
    """Where the steps write (see the module docstring)."""

    out: Path
    run: Path  # the supernet's run folder
    latency_table: Path
    predictor: Path  # the predictor's folder
    dataset: Path
    search: Path

    @classmethod
    def under(cls, out: Path) -> DemoPaths:
        run = out / "supernet"
        predictor = run / PREDICTOR_FOLDER
        return cls(
            out=out,
            run=run,
            latency_table=run / LATENCY_FOLDER / "table.json",
            predictor=predictor,
            dataset=predictor / "dataset.jsonl",
            search=out / "search",
        )


@dataclass(frozen=True, eq=False)
class DemoSupernet:
    """The trained supernet, as the later steps name it."""

    name: str
    num_classes: int
    space: Any  # with the run's resolutions


def _run_demo(config: DemoConfig, say: Callable[[str], None]) -> dict[str, Any]:
    from onceforall.demo.report import export_picks, write_summary
    from onceforall.latency.settings import MeasureSettings

    start = time.perf_counter()
    paths = DemoPaths.under(config.out)
    settings = MeasureSettings(backend="torch", threads=config.threads)
    timings: list[StepTiming] = []
    supernet = _train_supernet(config, paths, timings, say)
    _build_latency_table(config, paths, supernet, settings, timings, say)
    _fit_predictor(config, paths, supernet, timings, say)
    budgets = _search(config, paths, supernet, timings, say)
    cards = export_picks(
        config.out, paths.run, paths.search, settings, timings, say, config.progress
    )
    summary = write_summary(config.out, paths.run, paths.search, budgets, cards, timings, start)
    atomic_write_json(config.out / "summary.json", summary)
    return summary


def _train_supernet(
    config: DemoConfig, paths: DemoPaths, timings: list[StepTiming], say: Callable[[str], None]
) -> DemoSupernet:
    """`ofa train` (resumed where it stopped), then the supernet as trained."""
    from onceforall.run.checkpoints import load_checkpoint
    from onceforall.run.config import load_run_config
    from onceforall.run.trained import load_trained_supernet
    from onceforall.train.run import train

    run_config = load_run_config(config.config)

    def trained() -> bool:
        try:
            return bool(load_checkpoint(paths.run)["complete"])
        except OnceForAllError:
            return False

    _step(
        timings,
        "train supernet",
        trained(),
        lambda: train(run_config, paths.run, resume=True, progress=config.progress),
        say,
    )
    net, _, payload = load_trained_supernet(paths.run)
    return DemoSupernet(payload["supernet"], payload["num_classes"], net.space)


def _build_latency_table(
    config: DemoConfig,
    paths: DemoPaths,
    supernet: DemoSupernet,
    settings: MeasureSettings,
    timings: list[StepTiming],
    say: Callable[[str], None],
) -> None:
    """`ofa latency build` on this machine (torch, batch 1), unless the table exists."""
    from onceforall.latency.build import BuildConfig, build_latency_table

    build = BuildConfig(
        supernet=supernet.name,
        out=paths.latency_table,
        settings=settings,
        num_classes=supernet.num_classes,
        progress=config.progress,
    )
    _step(
        timings,
        "latency table",
        paths.latency_table.is_file(),
        lambda: build_latency_table(build),
        say,
    )


def _fit_predictor(
    config: DemoConfig,
    paths: DemoPaths,
    supernet: DemoSupernet,
    timings: list[StepTiming],
    say: Callable[[str], None],
) -> None:
    """`ofa predictor dataset` (always: it adds only missing records), then `fit` unless the
    predictor was fit on every record."""
    from onceforall.predict.dataset import build_accuracy_dataset
    from onceforall.predict.workflows import fit_from_dataset

    _step(
        timings,
        "accuracy dataset",
        False,
        lambda: build_accuracy_dataset(
            paths.run, config.dataset_size, seed=config.seed, progress=config.progress
        ),
        say,
    )
    _step(
        timings,
        "fit predictor",
        _predictor_current(paths.predictor, paths.dataset),
        lambda: fit_from_dataset(
            paths.dataset,
            supernet.name,
            paths.predictor,
            num_classes=supernet.num_classes,
            progress=config.progress,
            overwrite=True,  # fit again on a dataset that grew
        ),
        say,
    )


def _search(
    config: DemoConfig,
    paths: DemoPaths,
    supernet: DemoSupernet,
    timings: list[StepTiming],
    say: Callable[[str], None],
) -> list[float]:
    """`ofa search` for three latency budgets (quantiles of random sub-networks' predicted
    latency) and the Pareto front, unless done; the budgets."""
    from onceforall.latency.load import load_latency_table
    from onceforall.search.constraints import Budget
    from onceforall.search.run import SearchRequest, run_search

    latency = load_latency_table(paths.latency_table, supernet.space, supernet.name)
    budgets = latency_budgets(latency, latency.space, config.budget_quantiles, config.seed)
    request = SearchRequest(
        supernet=supernet.name,
        predictor=paths.run / PREDICTOR_FILE,
        out=paths.search,
        budgets=tuple(Budget(max_latency_ms=b) for b in budgets),
        num_classes=supernet.num_classes,
        latency_table=paths.latency_table,
        pareto=True,
        seed=config.seed,
        progress=config.progress,
    )
    _step(
        timings,
        "search",
        (paths.search / "search.json").is_file(),
        lambda: run_search(request),
        say,
    )
    return budgets
