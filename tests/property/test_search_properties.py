"""Hypothesis properties of the search's operators, cost tables and predictor features."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onceforall.arch.genome import GeneticOperators
from onceforall.arch.mbv3 import MBv3Space
from onceforall.families.mbv3_features import FeatureEncoding
from onceforall.models.registry import supernet_space
from onceforall.search.costs import population_costs


def mbv3(name: str) -> MBv3Space:
    space = supernet_space(name)
    assert isinstance(space, MBv3Space)
    return space


SPACES = {name: mbv3(name) for name in ("ofa_mbv3_w12", "ofa_proxyless_w13", "test_mbv3_tiny")}
OPERATORS = {name: GeneticOperators(space) for name, space in SPACES.items()}
COSTS = {
    name: population_costs(
        space, {"macs": space.macs_population, "params": space.params_population}
    )
    for name, space in SPACES.items()
}
seeds = st.integers(min_value=0, max_value=2**32 - 1)
probabilities = st.floats(min_value=0.0, max_value=1.0)
spaces = pytest.mark.parametrize("name", sorted(SPACES))


@spaces
@settings(max_examples=25, deadline=None)
@given(seed=seeds, prob=probabilities, resolution_prob=probabilities)
def test_operators_are_closed_and_seeded(
    name: str, seed: int, prob: float, resolution_prob: float
) -> None:
    space, operators = SPACES[name], OPERATORS[name]
    results = []
    for _ in range(2):
        rng = np.random.default_rng(seed)
        parents = operators.sample(20, rng)
        children = np.concatenate(
            [
                operators.mutate(parents, rng, prob, resolution_prob),
                operators.crossover(parents, parents[::-1], rng),
                operators.polynomial_mutate(parents, rng, prob, 3.0),
                operators.shrink(parents, rng, prob),
            ]
        )
        assert space.contains_population(children).all()
        results.append(children)
    np.testing.assert_array_equal(results[0], results[1])


@spaces
@settings(max_examples=25, deadline=None)
@given(seed=seeds)
def test_cost_tables_are_exact_and_features_one_hot(name: str, seed: int) -> None:
    space = SPACES[name]
    rows = space.sample_population(16, np.random.default_rng(seed))
    values = COSTS[name].evaluate(rows)
    assert values[:, 0].tolist() == space.macs_population(rows).tolist()
    assert values[:, 1].tolist() == space.params_population(rows).tolist()
    features = FeatureEncoding.for_space(space).encode(space, rows)
    np.testing.assert_array_equal(features.sum(axis=1), 2 * space.active_slots(rows).sum(1) + 1)
