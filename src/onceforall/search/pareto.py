"""Multi-objective search (NSGA-II): the trade-off between predicted accuracy and a cost.

Objectives: maximize predicted accuracy, minimize one cost (latency with a latency table, else
MACs), optionally within a budget. Each generation breeds `population_size` children (binary
tournaments on front rank then crowding distance; a uniform crossover of the two winners, then a
polynomial mutation of the choice indices, one gene in `width` on average: choices are ordered,
and near moves beat uniform resampling here, by measurement), merges them with the parents and
keeps the best fronts, the last one cut by crowding distance (Deb et al., 2002). Every distinct
sub-network scored is kept; the result is the non-dominated set of all of them. Vectorized over
the population; compared with pymoo's NSGA-II in benchmarks/bench_search.py (results in
benchmarks/results/search.json).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from onceforall.errors import SearchError
from onceforall.search.configs import ParetoConfig
from onceforall.search.constraints import Budget
from onceforall.search.costs import PopulationCosts
from onceforall.search.problem import BudgetCheck, PredictionCache, SearchProblem
from onceforall.search.sampling import sample_within


@dataclass(frozen=True)
class ParetoPoint:
    arch: Any
    predicted_accuracy: float
    macs: int
    params: int
    latency_ms: float | None
    reference: dict[str, Any] = field(compare=False)  # the reference's {"ks", "e", "d", "r"}


@dataclass(frozen=True)
class ParetoFront:
    objective: str  # the minimized cost: "latency_ms", "macs" or "params"
    points: tuple[ParetoPoint, ...]  # by increasing cost (and accuracy)
    hypervolume: float  # in the HypervolumeBox of the problem and objective
    evaluated: int  # distinct sub-networks scored
    history: tuple[float, ...]  # hypervolume of the archive's front after each generation


def pareto_ranks(objectives: np.ndarray) -> np.ndarray:
    """Front index of every row (0 = non-dominated) for objectives to minimize, (n, m)."""
    less_equal = np.all(objectives[:, None, :] <= objectives[None, :, :], axis=2)
    less = np.any(objectives[:, None, :] < objectives[None, :, :], axis=2)
    dominates = less_equal & less  # [i, j]: row i dominates row j
    ranks = np.full(len(objectives), -1)
    remaining = np.ones(len(objectives), dtype=bool)
    front = 0
    while remaining.any():  # at most n fronts: every pass removes at least one row
        current = remaining & ~np.any(dominates[remaining], axis=0)
        ranks[current] = front
        remaining &= ~current
        front += 1
    return ranks


def crowding_distance(objectives: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Per row, the normalized perimeter of the cuboid its front neighbours span (ends: inf)."""
    distance = np.zeros(len(objectives))
    for front in np.unique(ranks):
        members = np.flatnonzero(ranks == front)
        values = objectives[members]
        order = np.argsort(values, axis=0, kind="stable")
        ordered = np.take_along_axis(values, order, axis=0)
        span = np.maximum(ordered[-1] - ordered[0], 1e-12)
        gaps = np.zeros_like(values)
        gaps[1:-1] = (ordered[2:] - ordered[:-2]) / span
        gaps[0] = gaps[-1] = np.inf
        per_row = np.zeros_like(values)
        np.put_along_axis(per_row, order, gaps, axis=0)
        distance[members] = per_row.sum(axis=1)
    return distance


def front_2d(cost: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated rows (lower cost, higher accuracy), by increasing cost."""
    order = np.lexsort((-accuracy, cost))
    best_before = np.maximum.accumulate(np.concatenate([[-np.inf], accuracy[order][:-1]]))
    return order[accuracy[order] > best_before]


def hypervolume_2d(
    cost: np.ndarray, accuracy: np.ndarray, cost_reference: float, accuracy_reference: float
) -> float:
    """Area dominated by the points within [cost <= cost_reference, accuracy >= accuracy_ref]."""
    keep = (cost <= cost_reference) & (accuracy >= accuracy_reference)
    cost, accuracy = cost[keep], accuracy[keep]
    if len(cost) == 0:
        return 0.0
    front = front_2d(cost, accuracy)
    edges = np.append(cost[front], cost_reference)
    return float(np.sum(np.diff(edges) * (accuracy[front] - accuracy_reference)))


def pareto_search(
    problem: SearchProblem,
    objective: str | None = None,
    config: ParetoConfig = ParetoConfig(),
    *,
    budget: Budget | None = None,
    seed: int = 0,
    progress: bool = False,
) -> ParetoFront:
    """The predicted accuracy / cost trade-off: a front of non-dominated sub-networks."""
    objective = objective or ("latency_ms" if problem.latency is not None else "macs")
    if objective not in problem.costs.names:
        raise SearchError(f"cannot minimize {objective!r}: costs are {list(problem.costs.names)}")
    cost_of = problem.costs.subset((objective,))
    check = problem.check(budget) if budget is not None else None
    if budget is not None:
        problem.check_feasible([budget])
    scorer = PredictionCache(problem)
    rng = np.random.default_rng([seed, 2])
    operators, size = problem.operators, config.population_size
    population = (
        operators.sample(size, rng)
        if check is None
        else sample_within(operators, check, size, rng, config.max_retries)
    )
    box = hypervolume_box(problem, objective)
    objectives = _objectives(population, scorer, cost_of)
    ranks = pareto_ranks(objectives)
    crowding = crowding_distance(objectives, ranks)
    front = _Front.of(population, objectives)
    history = []
    for _ in tqdm(range(config.generations), desc="NSGA-II", disable=not progress):
        children = _offspring(problem, population, ranks, crowding, check, config, rng)
        child_objectives = _objectives(children, scorer, cost_of)
        front = front.merged(children, child_objectives)
        history.append(box.hypervolume(front.objectives[:, 1], -front.objectives[:, 0]))
        # survivors: the best fronts of parents + children, the last one cut by crowding
        merged, first = np.unique(np.concatenate([population, children]), axis=0, return_index=True)
        objectives = np.concatenate([objectives, child_objectives])[first]
        ranks = pareto_ranks(objectives)
        crowding = crowding_distance(objectives, ranks)
        keep = np.lexsort((-crowding, ranks))[:size]
        population, objectives = merged[keep], objectives[keep]
        ranks, crowding = ranks[keep], crowding[keep]
    points = tuple(
        _point(problem, row, -values[0])
        for row, values in zip(front.rows, front.objectives, strict=True)
    )
    hypervolume = box.hypervolume(front.objectives[:, 1], -front.objectives[:, 0])
    return ParetoFront(objective, points, hypervolume, scorer.evaluated, tuple(history))


def _objectives(
    population: np.ndarray, scorer: PredictionCache, cost_of: PopulationCosts
) -> np.ndarray:
    """(rows, 2) objectives to minimize: -predicted accuracy, cost."""
    return np.column_stack([-scorer(population), cost_of.evaluate(population)[:, 0]])


@dataclass(frozen=True, eq=False)
class _Front:
    """The non-dominated rows among all scored so far, by increasing cost."""

    rows: np.ndarray
    objectives: np.ndarray

    @classmethod
    def of(cls, rows: np.ndarray, objectives: np.ndarray) -> _Front:
        rows, first = np.unique(rows, axis=0, return_index=True)
        objectives = objectives[first]
        keep = front_2d(objectives[:, 1], -objectives[:, 0])
        return cls(rows[keep], objectives[keep])

    def merged(self, rows: np.ndarray, objectives: np.ndarray) -> _Front:
        return _Front.of(
            np.concatenate([self.rows, rows]), np.concatenate([self.objectives, objectives])
        )


@dataclass(frozen=True)
class HypervolumeBox:
    """Where fronts are measured: cost from the smallest to the largest sub-network's, scaled to
    [0, 1], and accuracy in percentage points above the smallest sub-network's prediction. A
    front holding only the smallest sub-network scores 0; one holding a network as cheap as it
    and 1 pp better scores 1."""

    smallest_cost: float
    largest_cost: float
    smallest_accuracy: float

    def hypervolume(self, cost: np.ndarray, accuracy: np.ndarray) -> float:
        span = max(self.largest_cost - self.smallest_cost, 1e-12)
        return hypervolume_2d(
            (np.asarray(cost, dtype=float) - self.smallest_cost) / span,
            100.0 * np.asarray(accuracy, dtype=float),
            1.0,
            100.0 * self.smallest_accuracy,
        )


def hypervolume_box(problem: SearchProblem, objective: str) -> HypervolumeBox:
    ends = problem.space.to_population([problem.space.min(), problem.space.max()])
    costs = problem.costs.subset((objective,)).evaluate_directly(ends)[:, 0]
    accuracy = problem.predictor.predict_population(problem.space, ends[:1])[0]
    return HypervolumeBox(float(costs[0]), float(costs[1]), float(accuracy))


def _offspring(
    problem: SearchProblem,
    population: np.ndarray,
    ranks: np.ndarray,
    crowding: np.ndarray,
    check: BudgetCheck | None,
    config: ParetoConfig,
    rng: np.random.Generator,
) -> np.ndarray:
    """Binary tournaments pick parent pairs; a child is their crossover, then mutated."""
    operators, size = problem.operators, config.population_size
    contenders = rng.integers(len(population), size=(size, 2, 2))
    a, b = contenders[..., 0], contenders[..., 1]
    a_wins = (ranks[a] < ranks[b]) | ((ranks[a] == ranks[b]) & (crowding[a] >= crowding[b]))
    parents = np.where(a_wins, a, b)
    children = np.empty((size, operators.width), dtype=np.int32)
    todo = np.arange(size)
    for _ in range(config.max_retries):
        pairs = parents[todo]
        candidates = operators.polynomial_mutate(
            operators.crossover(population[pairs[:, 0]], population[pairs[:, 1]], rng),
            rng,
            1.0 / operators.width if config.mutation_prob is None else config.mutation_prob,
            config.mutation_eta,
        )
        ok = np.ones(len(todo), dtype=bool) if check is None else check.within(candidates)
        children[todo[ok]] = candidates[ok]
        todo = todo[~ok]
        if len(todo) == 0:
            return children
    children[todo] = population[parents[todo, 0]]  # parents meet the budget
    return children


def _point(problem: SearchProblem, row: np.ndarray, accuracy: float) -> ParetoPoint:
    costs = problem.metrics(row[None, :])[0]
    latency = costs["latency_ms"]
    arch = problem.space.from_population(row[None, :])[0]
    return ParetoPoint(
        arch=arch,
        predicted_accuracy=float(accuracy),
        macs=int(costs["macs"] or 0),
        params=int(costs["params"] or 0),
        latency_ms=None if latency is None else float(latency),
        reference=problem.space.to_reference_dict(arch),
    )
