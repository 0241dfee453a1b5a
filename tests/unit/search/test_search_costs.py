"""Cost tables for search: equal to direct evaluation, and costs are monotone (the claim that
makes the smallest sub-network the cheapest, on which the impossible-budget check rests)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pytest

from onceforall.arch.genome import GeneticOperators, GenomeSpace
from onceforall.arch.mbv3 import MBv3Space
from onceforall.arch.slot_table import ResolutionTable
from onceforall.latency.model import LatencyCorrection, LatencyModel
from onceforall.models.registry import list_supernets, supernet_space
from onceforall.search.costs import population_costs
from onceforall.search.problem import latency_table_source

MBV3_NAMES = [n for n in list_supernets() if isinstance(supernet_space(n), MBv3Space)]


def mbv3(name: str) -> MBv3Space:
    space = supernet_space(name)
    assert isinstance(space, MBv3Space)
    return space


CostFunctions = dict[str, tuple[MBv3Space, Callable[[np.ndarray], np.ndarray]]]


@pytest.fixture
def cost_functions(
    latency_like: Any, request: pytest.FixtureRequest
) -> Callable[[str], CostFunctions]:
    """Per supernet: MACs, params, a stand-in latency, and for ofa_mbv3_w12 the Note10 tables."""
    from onceforall.latency.load import load_latency_table

    def functions(name: str) -> CostFunctions:
        space = mbv3(name)
        result: CostFunctions = {
            "macs": (space, space.macs_population),
            "params": (space, space.params_population),
            "latency_linear": (space, latency_like(space).predict_population),
        }
        if name == "ofa_mbv3_w12":
            model = load_latency_table(request.getfixturevalue("note10"), space)
            result["latency_note10"] = (model.space, model.predict_population)
        return result

    return functions


@pytest.mark.parametrize("name", MBV3_NAMES)
def test_tables_equal_direct_evaluation(name: str, cost_functions: Any) -> None:
    for cost, (space, function) in cost_functions(name).items():
        costs = population_costs(space, {cost: function})
        assert costs.tabulated, cost
        rows = space.sample_population(2000, np.random.default_rng(0))
        expected = np.asarray(function(rows), dtype=float)
        np.testing.assert_allclose(costs.evaluate(rows)[:, 0], expected, rtol=1e-12, err_msg=cost)


def test_integer_costs_are_exact_and_subsets_keep_columns(tiny_space: MBv3Space) -> None:
    costs = population_costs(
        tiny_space, {"macs": tiny_space.macs_population, "params": tiny_space.params_population}
    )
    rows = tiny_space.sample_population(500, np.random.default_rng(1))
    values = costs.evaluate(rows)
    assert values[:, 0].tolist() == tiny_space.macs_population(rows).tolist()
    assert values[:, 1].tolist() == tiny_space.params_population(rows).tolist()
    assert costs.subset(("params",)).evaluate(rows)[:, 0].tolist() == values[:, 1].tolist()


def test_non_additive_costs_are_evaluated_directly(
    tiny_space: MBv3Space, squared_latency: Any
) -> None:
    costs = population_costs(tiny_space, {"latency_ms": squared_latency.predict_population})
    assert not costs.tabulated
    rows = tiny_space.sample_population(100, np.random.default_rng(2))
    np.testing.assert_array_equal(
        costs.evaluate(rows)[:, 0], squared_latency.predict_population(rows)
    )


def grown_rows(space: MBv3Space, rows: np.ndarray) -> list[np.ndarray]:
    """For every column, the rows with that gene moved to its next larger choice (if any);
    slots that a deeper stage activates get the smallest kernel and expand ratio."""
    operators = GeneticOperators(space)
    result = []
    for column in range(operators.width):
        choices = operators.choices[column, : operators.counts[column]]
        position = np.searchsorted(choices, rows[:, column])
        grow = (rows[:, column] != 0) & (position + 1 < len(choices))
        if not grow.any():
            continue
        bigger = rows[grow].copy()
        bigger[:, column] = choices[position[grow] + 1]
        filled = np.where(bigger == 0, operators.smallest, bigger)
        result.append((rows[grow], operators.canonical(filled)))
    return result  # type: ignore[return-value]


@pytest.mark.parametrize("name", MBV3_NAMES)
def test_costs_are_monotone_so_the_smallest_arch_is_cheapest(
    name: str, cost_functions: Any
) -> None:
    for cost, (space, function) in cost_functions(name).items():
        rows = space.sample_population(300, np.random.default_rng(3))
        for before, after in grown_rows(space, rows):
            assert np.all(function(after) >= function(before)), cost
        smallest = function(space.to_population([space.min()]))[0]
        assert smallest <= function(rows).min(), cost


@pytest.mark.parametrize("name", list_supernets())
def test_tables_read_from_the_space_equal_direct_evaluation(name: str) -> None:
    space = supernet_space(name)
    assert isinstance(space, GenomeSpace)
    functions = {"macs": space.macs_population, "params": space.params_population}
    tables = {what: partial(space.cost_table, what=what) for what in ("macs", "params")}
    costs = population_costs(space, functions, tables=tables)  # type: ignore[arg-type]
    assert costs.tabulated
    rows = space.sample_population(1000, np.random.default_rng(4))
    assert costs.evaluate(rows)[:, 0].tolist() == space.macs_population(rows).tolist()
    assert costs.evaluate(rows)[:, 1].tolist() == space.params_population(rows).tolist()
    # a table that does not give the function's values is caught: evaluated directly instead
    wrong = population_costs(
        space, {"macs": space.macs_population}, tables={"macs": tables["params"]}
    )
    assert not wrong.tabulated


@pytest.mark.parametrize(
    "correction",
    [None, LatencyCorrection(0.3, 1.2, 0.0), LatencyCorrection(0.3, 1.2, 0.05)],
)
def test_latency_tables_are_read_with_their_correction(
    tiny_space: MBv3Space, correction: LatencyCorrection | None
) -> None:
    tables = {
        r: ResolutionTable(r, 0.5, 2e-6 * tiny_space.cost_table(r, "macs").values)
        for r in tiny_space.resolutions
    }
    model = LatencyModel(tiny_space, tables, "made up", correction)
    source = latency_table_source(model)
    # a per-block correction is not a table entry: that model is probed instead
    assert (source is None) == (correction is not None and correction.per_block_ms != 0)
    functions = {"latency_ms": model.predict_population}
    costs = population_costs(
        tiny_space, functions, tables={} if source is None else {"latency_ms": source}
    )
    assert costs.tabulated
    rows = tiny_space.sample_population(1000, np.random.default_rng(5))
    np.testing.assert_allclose(
        costs.evaluate(rows)[:, 0], model.predict_population(rows), rtol=1e-12
    )
