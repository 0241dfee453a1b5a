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

from onceforall.arch.genome import GenomeSpace
from onceforall.arch.space import Space
from onceforall.atomic_files import atomic_write_json, check_output_folder
from onceforall.errors import SearchError
from onceforall.latency.load import load_latency_table
from onceforall.models.registry import supernet_space
from onceforall.plots import plot_front
from onceforall.predict.accuracy import AccuracyPredictor, load_predictor
from onceforall.search.configs import EvolutionConfig, ParetoConfig
from onceforall.search.constraints import Budget, LatencyModel
from onceforall.search.evolution import evolution_search
from onceforall.search.pareto import ParetoFront, pareto_search
from onceforall.search.problem import SearchProblem, search_problem
from onceforall.search.random_search import random_search
from onceforall.search.results import SearchResult

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


@dataclass(frozen=True, eq=False)
class SearchInputs:
    """What a search reads: the supernet's space, the predictor, the latency table if any."""

    space: GenomeSpace[Any]
    predictor: AccuracyPredictor
    latency: LatencyModel | None


@dataclass(frozen=True, eq=False)
class SearchOutcome:
    """What a search found: one result per budget and the Pareto front, with their times."""

    problem: SearchProblem
    results: list[SearchResult]
    search_seconds: float  # cost tables + the budget searches
    front: ParetoFront | None  # None: no Pareto search was asked for
    pareto_seconds: float = 0.0


def run_search(request: SearchRequest) -> dict[str, Any]:
    """Search as requested and write the files; returns the content of search.json."""
    check_request(request)
    inputs = load_search_inputs(request)
    outcome = run_searches(request, inputs)
    return write_search(request, search_payload(request, inputs, outcome), outcome)


def check_request(request: SearchRequest) -> None:
    """SearchError for a request without budgets or one that would replace results unasked."""
    if not request.budgets and not request.pareto:
        raise SearchError("no budget given: set --max-latency-ms, --max-macs or --max-params")
    check_output_folder(request.out, SearchError)
    earlier = [name for name in OUTPUT_FILES if (request.out / name).exists()]
    if earlier and not request.overwrite:
        raise SearchError(
            f"{request.out} already holds {', '.join(earlier)} of an earlier search; pass "
            "--overwrite to replace them, or choose another --out"
        )


def load_search_inputs(request: SearchRequest) -> SearchInputs:
    space = supernet_space(request.supernet, request.num_classes)
    predictor = load_predictor(request.predictor)
    return SearchInputs(space, predictor, _latency(request.latency_table, space, request.supernet))


def run_searches(request: SearchRequest, inputs: SearchInputs) -> SearchOutcome:
    """Every budget (evolution or random sampling), then the Pareto front if asked for."""
    start = time.perf_counter()
    problem = search_problem(
        inputs.space, inputs.predictor, inputs.latency, supernet=request.supernet
    )
    problem.check_feasible(list(request.budgets))
    results = _search_budgets(request, problem)
    search_seconds = time.perf_counter() - start
    if not request.pareto:
        return SearchOutcome(problem, results, search_seconds, front=None)
    start = time.perf_counter()
    front = pareto_search(
        problem,
        request.objective,
        request.pareto_config,
        seed=request.seed,
        progress=request.progress,
    )
    return SearchOutcome(problem, results, search_seconds, front, time.perf_counter() - start)


def _search_budgets(request: SearchRequest, problem: SearchProblem) -> list[SearchResult]:
    if not request.budgets:
        return []
    if request.algorithm == "evolution":
        return evolution_search(
            problem,
            request.budgets,
            request.evolution,
            seed=request.seed,
            progress=request.progress,
        )
    return random_search(
        problem,
        request.budgets,
        request.random_samples,
        seed=request.seed,
        progress=request.progress,
    )


def search_payload(
    request: SearchRequest, inputs: SearchInputs, outcome: SearchOutcome
) -> dict[str, Any]:
    """The content of search.json (without the `pareto` entry write_search adds)."""
    results = outcome.results
    return {
        "supernet": request.supernet,
        "num_classes": inputs.space.describe()["num_classes"],
        "predictor": str(request.predictor),
        "latency_table": None if request.latency_table is None else str(request.latency_table),
        "resolutions": list(outcome.problem.space.resolutions),
        "algorithm": request.algorithm,
        "seed": request.seed,
        "hyperparameters": (
            dataclasses.asdict(request.evolution)
            if request.algorithm == "evolution"
            else {"samples": request.random_samples}
        ),
        "search_seconds": outcome.search_seconds,
        "evaluated": results[0].evaluated if results else 0,
        "results": [result.to_json() for result in results],
    }


def write_search(
    request: SearchRequest, payload: dict[str, Any], outcome: SearchOutcome
) -> dict[str, Any]:
    """Replace the files of any earlier search in `request.out`; the search.json written."""
    for name in OUTPUT_FILES:  # nothing of an earlier search stays beside the new results
        (request.out / name).unlink(missing_ok=True)
    if outcome.front is not None:
        seconds = outcome.pareto_seconds
        pareto = {"file": PARETO_FILE, "plot": PARETO_PLOT, "seconds": seconds}
        payload = {**payload, "pareto": pareto}
        _write_front(request, outcome.front, seconds)
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
