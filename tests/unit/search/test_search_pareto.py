"""NSGA-II pieces against brute force, and the front it returns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from onceforall.arch.mbv3 import MBv3Space
from onceforall.predict.accuracy import AccuracyPredictor
from onceforall.search.constraints import Budget
from onceforall.search.pareto import (
    ParetoConfig,
    crowding_distance,
    front_2d,
    hypervolume_2d,
    pareto_ranks,
    pareto_search,
)
from onceforall.search.problem import search_problem


def brute_force_ranks(objectives: np.ndarray) -> np.ndarray:
    ranks = np.full(len(objectives), -1)
    front = 0
    while (ranks < 0).any():
        left = np.flatnonzero(ranks < 0)
        for i in left:
            dominated = any(
                np.all(objectives[j] <= objectives[i]) and np.any(objectives[j] < objectives[i])
                for j in left
            )
            if not dominated:
                ranks[i] = -2  # mark, assign after the pass
        ranks[ranks == -2] = front
        front += 1
    return ranks


def test_ranks_equal_brute_force() -> None:
    rng = np.random.default_rng(0)
    for objectives in (rng.random((60, 2)), rng.integers(0, 5, size=(60, 2)).astype(float)):
        np.testing.assert_array_equal(pareto_ranks(objectives), brute_force_ranks(objectives))


def test_front_2d_equals_the_first_rank() -> None:
    rng = np.random.default_rng(1)
    cost, accuracy = rng.random(200), rng.random(200)
    front = front_2d(cost, accuracy)
    expected = np.flatnonzero(pareto_ranks(np.column_stack([-accuracy, cost])) == 0)
    assert sorted(front.tolist()) == expected.tolist()
    assert np.all(np.diff(cost[front]) > 0) and np.all(np.diff(accuracy[front]) > 0)


def test_crowding_distance_ends_are_infinite() -> None:
    objectives = np.array([[0.0, 3.0], [1.0, 2.0], [2.0, 1.0], [3.0, 0.0]])
    distance = crowding_distance(objectives, np.zeros(4, dtype=int))
    assert np.isinf(distance[[0, 3]]).all()
    np.testing.assert_allclose(distance[[1, 2]], [4 / 3, 4 / 3])


def test_hypervolume_of_a_staircase() -> None:
    cost = np.array([0.2, 0.5, 0.9, 0.6])  # the last point is dominated
    accuracy = np.array([1.0, 2.0, 3.0, 1.5])
    # (0.5-0.2)*1 + (0.9-0.5)*2 + (1-0.9)*3 above accuracy 0, up to cost 1
    assert hypervolume_2d(cost, accuracy, 1.0, 0.0) == pytest.approx(0.3 + 0.8 + 0.3)
    assert hypervolume_2d(cost, accuracy, 0.1, 0.0) == 0.0


def test_pareto_search_returns_a_sorted_non_dominated_front(
    tiny_space: MBv3Space, rugged: AccuracyPredictor, linear_latency: Any
) -> None:
    problem = search_problem(tiny_space, rugged, linear_latency)
    config = ParetoConfig(population_size=24, generations=15)
    front = pareto_search(problem, config=config, seed=0)
    assert front.objective == "latency_ms"
    latency = np.array([p.latency_ms for p in front.points])
    accuracy = np.array([p.predicted_accuracy for p in front.points])
    assert np.all(np.diff(latency) > 0) and np.all(np.diff(accuracy) > 0)
    for point in front.points:
        assert point.predicted_accuracy == pytest.approx(rugged.predict(tiny_space, point.arch))
        assert point.reference == tiny_space.to_reference_dict(point.arch)
    assert len(front.history) == 15 and np.all(np.diff(front.history) >= 0)
    assert front.hypervolume == pytest.approx(front.history[-1])
    again = pareto_search(problem, config=config, seed=0)
    assert [p.arch for p in again.points] == [p.arch for p in front.points]

    macs = pareto_search(problem, "macs", config, budget=Budget(max_params=40_000), seed=0)
    assert macs.objective == "macs"
    assert all(p.params <= 40_000 for p in macs.points)
