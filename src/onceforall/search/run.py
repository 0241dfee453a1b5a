"""`ofa search`: load the inputs, search every budget (and the Pareto front), write the results.

    DIR/search.json   inputs, hyperparameters, seed, `search_seconds` (the search itself: cost
                      tables + search, without loading inputs or process start-up) and `results`,
                      one per budget: the arch (reference dict `arch`, `arch_string`,
                      `arch_json`), predicted accuracy (fraction), MACs, params, latency (ms)
    DIR/pareto.json   with `pareto`: the front (accuracy vs latency, or MACs without a table)
    DIR/pareto.png

Every input is checked and every search done before the first file is written; each file is
written atomically.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from onceforall.arch.space import Space
from onceforall.atomic_files import atomic_write_json, check_output_folder
from onceforall.errors import SearchError
from onceforall.latency.load import load_latency_table
from onceforall.models.registry import supernet_space
from onceforall.plots import plot_front
from onceforall.predict.accuracy import load_predictor
from onceforall.search.configs import EvolutionConfig, ParetoConfig
from onceforall.search.constraints import Budget, LatencyModel
from onceforall.search.evolution import evolution_search
from onceforall.search.pareto import ParetoFront, pareto_search
from onceforall.search.problem import search_problem
from onceforall.search.random_search import random_search

SEARCH_FILE = "search.json"
PARETO_FILE = "pareto.json"
PARETO_PLOT = "pareto.png"
OUTPUT_FILES = (SEARCH_FILE, PARETO_FILE, PARETO_PLOT)


@dataclass(frozen=True)
class SearchRequest:
    supernet: str
    predictor: Path
    out: Path
    budgets: tuple[Budget, ...] = ()
    num_classes: int | None = None
    latency_table: Path | None = None
    algorithm: Literal["evolution", "random"] = "evolution"
    evolution: EvolutionConfig = field(default_factory=EvolutionConfig)
    random_samples: int = 50_100
    pareto: bool = False
    pareto_config: ParetoConfig = field(default_factory=ParetoConfig)
    objective: str | None = None  # Pareto cost; default latency_ms with a table, else macs
    seed: int = 0
    progress: bool = True
    overwrite: bool = False  # replace the results of an earlier search in `out`


def run_search(request: SearchRequest) -> dict[str, Any]:
    """Search as requested and write the files; returns the content of search.json."""
    if not request.budgets and not request.pareto:
        raise SearchError("no budget given: set --max-latency-ms, --max-macs or --max-params")
    check_output_folder(request.out, SearchError)
    earlier = [name for name in OUTPUT_FILES if (request.out / name).exists()]
    if earlier and not request.overwrite:
        raise SearchError(
            f"{request.out} already holds {', '.join(earlier)} of an earlier search; pass "
            "--overwrite to replace them, or choose another --out"
        )
    space = supernet_space(request.supernet, request.num_classes)
    predictor = load_predictor(request.predictor)
    latency = _latency(request.latency_table, space, request.supernet)

    start = time.perf_counter()
    problem = search_problem(space, predictor, latency, supernet=request.supernet)
    problem.check_feasible(list(request.budgets))
    results = []
    if request.budgets and request.algorithm == "evolution":
        results = evolution_search(
            problem,
            request.budgets,
            request.evolution,
            seed=request.seed,
            progress=request.progress,
        )
    elif request.budgets:
        results = random_search(
            problem,
            request.budgets,
            request.random_samples,
            seed=request.seed,
            progress=request.progress,
        )
    search_seconds = time.perf_counter() - start
    front = None
    if request.pareto:
        start = time.perf_counter()
        front = pareto_search(
            problem,
            request.objective,
            request.pareto_config,
            seed=request.seed,
            progress=request.progress,
        )
        pareto_seconds = time.perf_counter() - start

    payload: dict[str, Any] = {
        "supernet": request.supernet,
        "num_classes": space.describe()["num_classes"],
        "predictor": str(request.predictor),
        "latency_table": None if request.latency_table is None else str(request.latency_table),
        "resolutions": list(problem.space.resolutions),
        "algorithm": request.algorithm,
        "seed": request.seed,
        "hyperparameters": (
            dataclasses.asdict(request.evolution)
            if request.algorithm == "evolution"
            else {"samples": request.random_samples}
        ),
        "search_seconds": search_seconds,
        "evaluated": results[0].evaluated if results else 0,
        "results": [result.to_json() for result in results],
    }
    for name in OUTPUT_FILES:  # nothing of an earlier search stays beside the new results
        (request.out / name).unlink(missing_ok=True)
    if front is not None:
        payload["pareto"] = {"file": PARETO_FILE, "plot": PARETO_PLOT, "seconds": pareto_seconds}
        _write_front(request, front, pareto_seconds)
    atomic_write_json(request.out / SEARCH_FILE, payload)
    return payload


def _latency(path: Path | None, space: Space[Any], supernet: str) -> LatencyModel | None:
    if path is None:
        return None
    return load_latency_table(Path(path), space, supernet)


def front_to_json(front: ParetoFront) -> dict[str, Any]:
    return {
        "objective": front.objective,
        "hypervolume": front.hypervolume,
        "evaluated": front.evaluated,
        "points": [
            {
                "arch": point.reference,
                "arch_string": str(point.arch),
                "predicted_accuracy": point.predicted_accuracy,
                "macs": point.macs,
                "params": point.params,
                "latency_ms": point.latency_ms,
            }
            for point in front.points
        ],
    }


def _write_front(request: SearchRequest, front: ParetoFront, seconds: float) -> None:
    payload = {
        "supernet": request.supernet,
        "seed": request.seed,
        "hyperparameters": dataclasses.asdict(request.pareto_config),
        "seconds": seconds,
        **front_to_json(front),
    }
    plot_front(request.out / PARETO_PLOT, front, f"{request.supernet}: predicted accuracy")
    atomic_write_json(request.out / PARETO_FILE, payload)
