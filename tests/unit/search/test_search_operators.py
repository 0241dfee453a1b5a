"""Genetic operators: canonical rows of the space, the documented probabilities, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from onceforall.arch.genome import GeneticOperators
from onceforall.arch.mbv3 import MBv3Space
from onceforall.models.registry import list_supernets, supernet_space

MBV3_NAMES = [n for n in list_supernets() if isinstance(supernet_space(n), MBv3Space)]


@pytest.mark.parametrize("name", MBV3_NAMES)
def test_operators_stay_in_the_space(name: str) -> None:
    space = supernet_space(name)
    assert isinstance(space, MBv3Space)
    operators = GeneticOperators(space)
    rng = np.random.default_rng(0)
    parents = operators.sample(300, rng)
    assert space.contains_population(parents).all()
    np.testing.assert_array_equal(parents, space.canonicalize(parents))
    children = [
        operators.mutate(parents, rng, 0.3, 0.5),
        operators.crossover(parents, parents[::-1], rng),
        operators.shrink(parents, rng, 0.5),
        operators.polynomial_mutate(parents, rng, 0.3, 3.0),
    ]
    for child in children:
        assert child.dtype == np.int32
        assert space.contains_population(child).all()


def test_sampling_covers_every_choice_uniformly(tiny_space: MBv3Space) -> None:
    operators = GeneticOperators(tiny_space)
    rows = operators.random_genes(30_000, np.random.default_rng(1))
    for column in range(operators.width):
        values, counts = np.unique(rows[:, column], return_counts=True)
        assert values.tolist() == operators.choices[column, : operators.counts[column]].tolist()
        assert np.all(np.abs(counts / len(rows) - 1 / len(values)) < 0.02)


def test_mutation_rates(tiny_space: MBv3Space) -> None:
    operators = GeneticOperators(tiny_space)
    rng = np.random.default_rng(2)
    parents = np.tile(tiny_space.to_population([tiny_space.max()]), (20_000, 1))
    assert np.array_equal(operators.mutate(parents, rng, 0.0, 0.0), parents)
    children = operators.mutate(parents, rng, 0.1, 0.5)
    # a resampled gene keeps its value with probability 1/3 (three choices)
    changed = (children != parents).mean(axis=0)
    assert changed[0] == pytest.approx(0.5 * 2 / 3, abs=0.02)
    depth_cols, _, _ = tiny_space.columns()
    assert changed[depth_cols].mean() == pytest.approx(0.1 * 2 / 3, abs=0.01)


def test_crossover_takes_genes_from_both_parents(tiny_space: MBv3Space) -> None:
    operators = GeneticOperators(tiny_space)
    rng = np.random.default_rng(3)
    first = np.tile(tiny_space.to_population([tiny_space.max()]), (5000, 1))
    second = np.tile(tiny_space.to_population([tiny_space.min()]), (5000, 1))
    children = operators.crossover(first, second, rng)
    assert (children[:, 0] == first[:, 0]).mean() == pytest.approx(0.5, abs=0.03)
    assert np.array_equal(operators.crossover(first, first, rng), first)


def test_operators_are_seeded(tiny_space: MBv3Space) -> None:
    operators = GeneticOperators(tiny_space)
    runs = []
    for _ in range(2):
        rng = np.random.default_rng(4)
        parents = operators.sample(50, rng)
        runs.append(
            operators.mutate(operators.crossover(parents, parents[::-1], rng), rng, 0.1, 0.5)
        )
    np.testing.assert_array_equal(runs[0], runs[1])


def test_shrink_never_grows_costs_and_ends_at_the_smallest(tiny_space: MBv3Space) -> None:
    operators = GeneticOperators(tiny_space)
    rng = np.random.default_rng(5)
    rows = operators.sample(500, rng)
    macs = tiny_space.macs_population(rows)
    for _ in range(200):
        rows = operators.shrink(rows, rng, 0.2)
        smaller = tiny_space.macs_population(rows)
        assert np.all(smaller <= macs)
        macs = smaller
    smallest = tiny_space.to_population([tiny_space.min()])
    assert np.all(rows == smallest)


def test_polynomial_mutation_prefers_near_choices(tiny_space: MBv3Space) -> None:
    operators = GeneticOperators(tiny_space)
    rng = np.random.default_rng(6)
    parents = np.tile(tiny_space.to_population([tiny_space.min()]), (20_000, 1))
    assert np.array_equal(operators.polynomial_mutate(parents, rng, 0.0, 3.0), parents)
    children = operators.polynomial_mutate(parents, rng, 1.0, 3.0)
    _, k_cols, _ = tiny_space.columns()
    first_slot = children[:, k_cols.start]  # always active; from kernel 3, moves go up only
    share = {k: float(np.mean(first_slot == k)) for k in (3, 5, 7)}
    assert share[5] > share[7] > 0.0 and share[3] > 0.0
