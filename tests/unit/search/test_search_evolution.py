"""Evolutionary and random search: within budget, seeded, several budgets, impossible budgets."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import pytest

from onceforall.arch.mbv3 import MBv3Space
from onceforall.errors import SearchError
from onceforall.predict.accuracy import AccuracyPredictor
from onceforall.search.configs import EvolutionConfig
from onceforall.search.constraints import Budget, budgets_from_lists
from onceforall.search.evolution import evolution_search
from onceforall.search.polish import apply_changes, pair_changes, polish, single_changes
from onceforall.search.problem import PredictionCache, search_problem
from onceforall.search.random_search import random_search
from onceforall.search.sampling import sample_within

SMALL = EvolutionConfig(population_size=40, generations=40)
PAPER_SMALL = EvolutionConfig(population_size=40, generations=40, islands=1, polish_rounds=0)


def test_results_meet_their_budgets_and_are_seeded(
    tiny_space: MBv3Space, rugged: AccuracyPredictor, linear_latency: Any
) -> None:
    problem = search_problem(tiny_space, rugged, linear_latency)
    budgets = [
        Budget(max_macs=300_000),
        Budget(max_latency_ms=1.2),
        Budget(max_macs=600_000, max_params=60_000, max_latency_ms=1.5),
    ]
    results = evolution_search(problem, budgets, SMALL, seed=3)
    assert [r.budget for r in results] == budgets
    for result in results:
        arch = result.arch
        assert tiny_space.contains(arch)
        assert result.macs == tiny_space.macs(arch) and result.params == tiny_space.params(arch)
        assert result.latency_ms == pytest.approx(linear_latency.predict(arch))
        limits = result.budget.limits()
        assert result.macs <= limits[0] and result.params <= limits[1]
        assert result.latency_ms <= limits[2]
        assert result.predicted_accuracy == pytest.approx(rugged.predict(tiny_space, arch))
        assert result.reference == tiny_space.to_reference_dict(arch)
        assert len(result.history) == SMALL.generations
        assert np.all(np.diff(result.history) >= 0)  # the parents keep the best
    again = evolution_search(problem, budgets, SMALL, seed=3)
    assert [r.arch for r in again] == [r.arch for r in results]
    other = evolution_search(problem, budgets, SMALL, seed=4)
    assert [r.arch for r in other] != [r.arch for r in results]


def test_evolution_finds_the_best_arch_at_the_budget_edge(
    tiny_space: MBv3Space, additive: AccuracyPredictor
) -> None:
    """With bigger-is-better accuracy, evolution beats random search of the same cost."""
    problem = search_problem(tiny_space, additive)
    budget = Budget(max_macs=400_000)
    config = EvolutionConfig(population_size=50, generations=60)
    evolved = evolution_search(problem, [budget], config, seed=0)[0]
    sampled = random_search(problem, [budget], samples=50 + 60 * 50, seed=0)[0]
    assert evolved.predicted_accuracy >= sampled.predicted_accuracy
    assert evolved.macs > 0.95 * 400_000  # bigger is better: it uses the budget


def test_impossible_budgets_fail_at_once(
    tiny_space: MBv3Space, rugged: AccuracyPredictor, linear_latency: Any
) -> None:
    problem = search_problem(tiny_space, rugged, linear_latency)
    smallest = tiny_space.macs(tiny_space.min())
    start = time.perf_counter()
    with pytest.raises(SearchError, match=f"the smallest one .* has {smallest / 1e6:.6g}M MACs"):
        evolution_search(problem, [Budget(max_macs=400_000), Budget(max_macs=smallest - 1)])
    with pytest.raises(SearchError, match=r"latency <= 0\.1 ms"):
        random_search(problem, [Budget(max_latency_ms=0.1)])
    assert time.perf_counter() - start < 1.0
    # exactly the smallest sub-network's cost is feasible: the result is that network
    result = evolution_search(problem, [Budget(max_macs=smallest)], SMALL)[0]
    assert result.arch == tiny_space.min()


def test_latency_budget_needs_a_table(tiny_space: MBv3Space, rugged: AccuracyPredictor) -> None:
    problem = search_problem(tiny_space, rugged)
    with pytest.raises(SearchError, match="latency table"):
        evolution_search(problem, [Budget(max_latency_ms=5.0)], SMALL)
    with pytest.raises(SearchError, match="no budget"):
        evolution_search(problem, [], SMALL)


def test_tight_budgets_fill_the_population_in_bounded_rounds(
    tiny_space: MBv3Space, rugged: AccuracyPredictor
) -> None:
    problem = search_problem(tiny_space, rugged)
    smallest = tiny_space.macs(tiny_space.min())
    check = problem.check(Budget(max_macs=smallest * 1.02))
    rows = sample_within(problem.operators, check, 100, np.random.default_rng(0), rounds=3)
    assert len(rows) == 100
    assert check.within(rows).all()
    assert tiny_space.contains_population(rows).all()


def test_budgets_from_lists_broadcast_single_values() -> None:
    budgets = budgets_from_lists(max_latency_ms=[15, 20], max_macs=[400e6])
    assert budgets == [
        Budget(max_macs=400e6, max_latency_ms=15),
        Budget(max_macs=400e6, max_latency_ms=20),
    ]
    with pytest.raises(SearchError, match="give 1 or 3"):
        budgets_from_lists(max_latency_ms=[1, 2, 3], max_macs=[1, 2])
    with pytest.raises(SearchError, match="no budget"):
        budgets_from_lists()
    with pytest.raises(SearchError, match="positive"):
        Budget(max_macs=-1)
    with pytest.raises(SearchError, match="at least one"):
        Budget()


def test_prediction_cache_scores_each_distinct_row_once(
    tiny_space: MBv3Space, rugged: AccuracyPredictor
) -> None:
    problem = search_problem(tiny_space, rugged)
    cache = PredictionCache(problem)
    rows = tiny_space.sample_population(20, np.random.default_rng(0))
    doubled = np.concatenate([rows, rows[::-1], rows[:5]])
    scores = cache(doubled)
    assert cache.evaluated == len(np.unique(rows, axis=0))
    np.testing.assert_allclose(scores, rugged.predict_population(tiny_space, doubled), atol=1e-6)
    cache(rows)
    assert cache.evaluated == len(np.unique(rows, axis=0))


def test_bad_configs_are_errors() -> None:
    with pytest.raises(SearchError):
        EvolutionConfig(parent_ratio=0.0)
    with pytest.raises(SearchError):
        EvolutionConfig(mutation_prob=1.5)
    with pytest.raises(SearchError):
        EvolutionConfig(max_retries=0)


def test_evolution_gives_the_sub_networks_it_always_gave(
    tiny_space: MBv3Space, rugged: AccuracyPredictor, linear_latency: Any
) -> None:
    """Recorded results of the paper's search (one island, no polish): a speed-up (cost tables
    read instead of probed, cached choice lookups, islands stacked in one array) must not
    change what a seed finds."""
    problem = search_problem(tiny_space, rugged, linear_latency)
    budgets = [
        Budget(max_macs=300_000),
        Budget(max_latency_ms=1.2),
        Budget(max_macs=600_000, max_params=60_000, max_latency_ms=1.5),
    ]
    recorded = {
        0: [
            "r16-k7e4_k3e4_k5e4_k3e3-k3e4_k3e4_k7e4-k3e4_k5e4_k3e3_k7e6",
            "r16-k3e6_k3e4_k5e4_k3e3-k7e3_k3e3_k3e6-k3e3_k5e3_k7e3_k5e3",
            "r16-k3e6_k3e3_k7e4_k3e3-k7e3_k3e3_k3e6-k3e3_k5e3_k3e3_k5e4",
        ],
        3: [
            "r16-k7e4_k5e4_k5e3-k3e4_k3e3_k7e3_k3e6-k3e3_k3e4_k3e3_k3e6",
            "r16-k7e4_k5e4_k5e4-k3e3_k3e3_k7e3_k3e6-k3e3_k3e4_k3e3_k3e6",
            "r20-k7e4_k7e4_k7e4_k3e4-k3e6_k3e3_k3e4_k3e3-k3e3_k5e3_k7e3",
        ],
    }
    evaluated = {0: 2055, 3: 2220}
    for seed, archs in recorded.items():
        results = evolution_search(problem, budgets, PAPER_SMALL, seed=seed)
        assert [str(r.arch) for r in results] == archs
        assert results[0].evaluated == evaluated[seed]


def test_polish_never_does_worse_and_islands_stay_within_budgets(
    tiny_space: MBv3Space, rugged: AccuracyPredictor, linear_latency: Any
) -> None:
    """With the same seed the polish climbs from the paper's result, so it can only raise the
    prediction; islands give valid results within their budgets."""
    problem = search_problem(tiny_space, rugged, linear_latency)
    budgets = [Budget(max_macs=300_000), Budget(max_latency_ms=1.2)]
    paper = evolution_search(problem, budgets, PAPER_SMALL, seed=1)
    polished = evolution_search(
        problem, budgets, dataclasses.replace(PAPER_SMALL, polish_rounds=20), seed=1
    )
    islands = evolution_search(problem, budgets, dataclasses.replace(SMALL, islands=3), seed=1)
    for first, better, more in zip(paper, polished, islands, strict=True):
        assert better.predicted_accuracy >= first.predicted_accuracy
        assert len(more.history) == SMALL.generations
        for result in (better, more):
            assert result.predicted_accuracy == pytest.approx(
                rugged.predict(tiny_space, result.arch)
            )
            assert result.macs <= result.budget.limits()[0]
            assert (result.latency_ms or 0.0) <= result.budget.limits()[2]


def test_polish_reaches_a_local_optimum_within_the_budget(
    tiny_space: MBv3Space, additive: AccuracyPredictor
) -> None:
    """From the smallest network, climbing on a bigger-is-better predictor fills the budget and
    stops where no single change, nor a pair of one that breaks the budget with one that fits,
    scores higher."""
    problem = search_problem(tiny_space, additive)
    check = problem.check(Budget(max_macs=400_000))
    scorer = PredictionCache(problem)
    start = tiny_space.to_population([tiny_space.min()])[0]
    result = polish(
        problem.operators, start, float(scorer(start[None])[0]), check.within, scorer, 1000
    )
    assert result.rounds > 0
    assert check.within(result.row[None])[0]
    assert tiny_space.macs(tiny_space.from_population(result.row[None])[0]) > 0.9 * 400_000
    columns, values = single_changes(problem.operators, result.row)
    singles = apply_changes(problem.operators, result.row, columns, values)
    fits = check.within(singles)
    assert fits.any() and not fits.all()
    for candidates in (
        singles,
        apply_changes(problem.operators, result.row, *pair_changes(columns, values, fits)),
    ):
        assert tiny_space.contains_population(candidates).all()
        fits = candidates[check.within(candidates)]
        assert (scorer(fits) <= result.score + 1e-12).all()


def test_bad_island_settings_are_errors() -> None:
    with pytest.raises(SearchError, match="islands"):
        EvolutionConfig(islands=0)
    with pytest.raises(SearchError, match="polish_rounds"):
        EvolutionConfig(polish_rounds=-1)
