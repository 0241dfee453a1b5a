"""What a search works on: the space, the predictor, the costs and the operators, checked together.

problem = search_problem(space, predictor, latency_model, supernet="ofa_mbv3_w12")
problem.costs.evaluate(population)     # (rows, metrics): macs, params[, latency_ms]
problem.check(budget).within(population)   # which rows meet the budget
scores = PredictionCache(problem)      # accuracy per row, every distinct row predicted once
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

import numpy as np

from onceforall.arch.genome import GeneticOperators, GenomeSpace
from onceforall.arch.slot_table import ResolutionTable
from onceforall.errors import SearchError
from onceforall.latency.model import LatencyCorrection
from onceforall.latency.model import LatencyModel as TableLatencyModel
from onceforall.predict.accuracy import AccuracyPredictor
from onceforall.search.constraints import METRICS, Budget, LatencyModel, check_feasible
from onceforall.search.costs import PopulationCosts, TableSource, population_costs


@dataclass(frozen=True, eq=False)
class BudgetCheck:
    budget: Budget
    costs: PopulationCosts  # the bounded costs only
    limits: np.ndarray  # one per cost

    def within(self, population: np.ndarray) -> np.ndarray:
        """Boolean mask of the rows that meet every bound."""
        costs = self.costs.evaluate(population)
        if len(self.limits) == 1:
            return costs[:, 0] <= self.limits[0]
        return np.all(costs <= self.limits, axis=1)


@dataclass(frozen=True, eq=False)
class SearchProblem:
    space: GenomeSpace[Any]  # restricted to the latency table's resolutions when there is one
    predictor: AccuracyPredictor
    latency: LatencyModel | None
    costs: PopulationCosts
    operators: GeneticOperators

    def check(self, budget: Budget) -> BudgetCheck:
        """The budget as a vectorized test over populations (only the bounded costs)."""
        bounds = {n: v for n, v in zip(METRICS, budget.limits(), strict=True) if not math.isinf(v)}
        if self.latency is None and "latency_ms" in bounds:
            raise SearchError(
                f"the budget '{budget.describe()}' bounds latency: a latency table is needed"
            )
        names = tuple(bounds)
        return BudgetCheck(budget, self.costs.subset(names), np.array([bounds[n] for n in names]))

    def smallest(self) -> Any:
        return self.space.min()

    def check_feasible(self, budgets: list[Budget]) -> None:
        """SearchError at once for a budget that no sub-network can meet."""
        for budget in budgets:
            self.check(budget)
        row = self.space.to_population([self.smallest()])
        values = dict(zip(self.costs.names, self.costs.evaluate_directly(row)[0], strict=True))
        smallest = np.array([values.get(name, math.nan) for name in METRICS])
        check_feasible(budgets, smallest, str(self.smallest()))

    def metrics(self, population: np.ndarray) -> list[dict[str, float | int | None]]:
        """Exact costs of each row (direct evaluation), for reporting."""
        values = self.costs.evaluate_directly(population)
        columns = {name: values[:, i] for i, name in enumerate(self.costs.names)}
        return [
            {
                "macs": int(columns["macs"][i]),
                "params": int(columns["params"][i]),
                "latency_ms": float(columns["latency_ms"][i]) if "latency_ms" in columns else None,
            }
            for i in range(len(population))
        ]


def search_problem(
    space: GenomeSpace[Any],
    predictor: AccuracyPredictor,
    latency: LatencyModel | None = None,
    *,
    supernet: str | None = None,
) -> SearchProblem:
    """Check that the inputs belong together and build the cost tables.

    With a latency table the space is restricted to the resolutions it covers (the reference's
    Note10 tables have 160..224 in steps of 16).
    """
    if latency is not None:
        resolutions = sorted(set(space.resolutions) & set(latency.resolutions))
        if not resolutions:
            raise SearchError(
                f"the latency table covers resolutions {list(latency.resolutions)}, none of the "
                f"space's {list(space.resolutions)}"
            )
        space = space.restrict_choices({"resolutions": resolutions})
    predictor.check_space(space, supernet)
    functions = {"macs": space.macs_population, "params": space.params_population}
    tables: dict[str, TableSource] = {
        "macs": partial(space.cost_table, what="macs"),
        "params": partial(space.cost_table, what="params"),
    }
    if latency is not None:
        functions["latency_ms"] = latency.predict_population
        latency_tables = latency_table_source(latency)
        if latency_tables is not None:
            tables["latency_ms"] = latency_tables
    costs = population_costs(space, functions, tables=tables)
    return SearchProblem(space, predictor, latency, costs, GeneticOperators(space))


def latency_table_source(latency: LatencyModel) -> TableSource | None:
    """The slot tables of a table-based latency model with its correction folded in (offset
    into the fixed part, scale into every entry), or None: a per-block correction, or another
    kind of model, is probed instead."""
    if not isinstance(latency, TableLatencyModel):
        return None
    correction = latency.correction or LatencyCorrection()
    if correction.per_block_ms != 0.0:
        return None
    tables = latency.tables

    def source(resolution: int) -> ResolutionTable:
        table = tables[resolution]
        if correction == LatencyCorrection():
            return table
        return ResolutionTable(
            resolution,
            correction.offset_ms + correction.scale * table.fixed,
            correction.scale * np.asarray(table.values, dtype=np.float64),
        )

    return source


class PredictionCache:
    """Predicted accuracy of population rows; each distinct row goes through the MLP once."""

    def __init__(self, problem: SearchProblem) -> None:
        self._space = problem.space
        self._predictor = problem.predictor
        self._known: dict[bytes, float] = {}

    @property
    def evaluated(self) -> int:
        """Distinct rows predicted so far."""
        return len(self._known)

    def __call__(self, population: np.ndarray) -> np.ndarray:
        rows = np.ascontiguousarray(population, dtype=np.int32)
        keys = cast(list[bytes], rows.view(np.dtype((np.void, rows.shape[1] * 4))).ravel().tolist())
        known = self._known
        missing: dict[bytes, int] = {}
        for index, key in enumerate(keys):
            if key not in known and key not in missing:
                missing[key] = index
        if missing:
            fresh = rows[list(missing.values())]
            features = self._predictor.encoding.encode(self._space, fresh)
            scores = self._predictor.predict_features(features).tolist()
            known.update(zip(missing, scores, strict=True))
        return np.array([known[key] for key in keys], dtype=np.float64)
