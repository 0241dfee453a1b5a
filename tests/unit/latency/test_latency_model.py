"""LatencyModel: the vectorized prediction equals a per-network walk over its operators."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from onceforall.arch.mbv3 import MBv3Arch, MBv3Space
from onceforall.arch.slot_table import ResolutionTable as ResolutionLatency
from onceforall.errors import ArchError, LatencyTableError
from onceforall.families.mbv3_operators import MBv3OperatorGrid as OperatorGrid
from onceforall.families.mbv3_operators import mbv3_operator_grid
from onceforall.families.operators import Operator
from onceforall.latency.load import LatencyCorrection, LatencyModel
from onceforall.models.registry import supernet_space


def _space(name: str = "test_mbv3_tiny") -> MBv3Space:
    space = supernet_space(name)
    assert isinstance(space, MBv3Space)
    return space


def random_model(space: MBv3Space, seed: int = 0) -> tuple[LatencyModel, dict[int, Any]]:
    rng = np.random.default_rng(seed)
    grids, tables = {}, {}
    for r in space.resolutions:
        grid = mbv3_operator_grid(space.layout, r, space.kernel_sizes, space.expand_ratios)
        value_of: dict[Operator, float] = {
            op: float(rng.uniform(0.1, 2.0)) for op in grid.operators()
        }
        grids[r] = (grid, value_of)
        fixed = sum(value_of[op] for op in grid.fixed)
        tables[r] = ResolutionLatency(r, fixed, grid.slot_values(value_of))
    return LatencyModel(space, tables, "random"), grids


def walk(
    arch: MBv3Arch, grid: OperatorGrid, value_of: dict[Operator, float], space: MBv3Space
) -> float:
    """Latency by visiting the blocks that run, one by one."""
    total = sum(value_of[op] for op in grid.fixed)
    slot = 0
    for s, stage in enumerate(arch.stages):
        for b, block in enumerate(stage):
            op = grid.slots[slot + b][space.kernel_sizes.index(block.kernel_size)][
                space.expand_ratios.index(block.expand_ratio)
            ]
            total += value_of[op]
        slot += space.layout.slots_per_stage[s]
    return total


@pytest.mark.parametrize("name", ["test_mbv3_tiny", "ofa_mbv3_w10_small_input"])
def test_population_prediction_equals_walk(name: str) -> None:
    space = _space(name)
    model, grids = random_model(space)
    population = space.sample_population(300, np.random.default_rng(1))
    predicted = model.predict_population(population)
    assert predicted.dtype == np.float64 and predicted.shape == (300,)
    for row, arch in zip(predicted, space.from_population(population), strict=True):
        grid, value_of = grids[arch.resolution]
        assert row == pytest.approx(walk(arch, grid, value_of, space), rel=1e-12)
        assert model.predict(arch) == pytest.approx(row, rel=1e-15)


def test_rows_of_a_restricted_space_and_empty_populations() -> None:
    space = _space()
    model, grids = random_model(space)
    narrow = space.restrict(kernel_sizes=[3], expand_ratios=[6])
    rows = narrow.sample_population(20, np.random.default_rng(2))
    for value, arch in zip(
        model.predict_population(rows), narrow.from_population(rows), strict=True
    ):
        grid, value_of = grids[arch.resolution]
        assert value == pytest.approx(walk(arch, grid, value_of, space), rel=1e-12)
    assert model.predict_population(space.to_population([])).shape == (0,)


def test_correction_is_applied() -> None:
    space = _space()
    model, _ = random_model(space)
    population = space.sample_population(50, np.random.default_rng(3))
    raw = model.predict_population(population)
    blocks = space.active_slots(population).sum(axis=1)
    corrected = model.with_correction(LatencyCorrection(0.5, 1.25, 0.01))
    expected = 0.5 + 1.25 * raw + 0.01 * blocks
    assert np.allclose(corrected.predict_population(population), expected, rtol=1e-14)
    assert np.array_equal(corrected.without_correction().predict_population(population), raw)


def test_unknown_resolution_lists_the_table_resolutions() -> None:
    space = _space()
    model, _ = random_model(space)
    partial = LatencyModel(space, {16: model.tables[16]}, "partial table")
    row = space.to_population([space.max()])  # at the largest resolution, 24
    with pytest.raises(LatencyTableError, match=r"resolution 24; partial table has 16"):
        partial.predict_population(row)


def test_bad_populations_are_rejected() -> None:
    space = _space()
    model, _ = random_model(space)
    with pytest.raises(ArchError, match="columns"):
        model.predict_population(np.zeros((2, 3), dtype=np.int32))
    row = space.to_population([space.max()])
    _, k_cols, _ = space.columns()
    row[0, k_cols.start] = 4
    with pytest.raises(ArchError, match="kernel_size=4"):
        model.predict_population(row)


def test_table_shape_must_fit_the_space() -> None:
    space = _space()
    with pytest.raises(LatencyTableError, match="shape"):
        LatencyModel(space, {16: ResolutionLatency(16, 1.0, np.zeros((2, 2, 2)))}, "bad")
