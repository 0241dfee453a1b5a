"""Costs of a population (MACs, params, latency) in one gather, for the search's constraint checks.

Every cost the search bounds has the space's slot-table form (arch/slot_table.py): cost(row) =
fixed(resolution) + the sum of one table entry per term of the row. `population_costs` stacks
every metric's tables into one table, so a population's costs are one gather and one sum. Where
the caller knows a cost's tables (the space's MACs and params, `space.cost_table`; a latency
model's own tables) they are read directly. Any other cost function is probed: for every
resolution random rows are evaluated directly and the entries solved for (least squares on the
rows' entry indicators). Either way the stacked tables are checked against direct evaluation on
other rows; a cost function that is not additive (a latency model with another structure) is
detected there and evaluated directly instead, which is slower but exact.

Entries that always run together (the first block slot and the fixed part) are not separately
identifiable by probing; the least-squares solution of smallest norm splits them, and every sum
stays exact. Integer costs (MACs, parameters) are rounded after summing, so they stay exact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from onceforall.arch.genome import GenomeSpace
from onceforall.arch.slot_table import ResolutionTable

CostFunction = Callable[[np.ndarray], np.ndarray]
TableSource = Callable[[int], ResolutionTable]  # a cost's slot table at a resolution

PROBE_ROWS_PER_ENTRY = 3  # random rows per table entry and resolution: the entries are identified


@dataclass(frozen=True, eq=False)
class PopulationCosts:
    """Evaluates named costs of population rows; `evaluate` returns (rows, len(names)) float64."""

    space: GenomeSpace[Any]
    names: tuple[str, ...]
    functions: tuple[CostFunction, ...]
    # (resolutions * (entries + 1), metrics), or None: every resolution's slot table, the last
    # entry of each a zero that inactive terms read; fixed parts in `fixed` (resolutions, metrics)
    table: np.ndarray | None
    fixed: np.ndarray | None
    integer: np.ndarray  # (metrics,) bool: round the sums (integer costs)
    resolution_index: np.ndarray = field(init=False)  # resolution value -> row of `fixed`

    def __post_init__(self) -> None:
        lookup = np.zeros(max(self.space.resolutions) + 1, dtype=np.int64)
        lookup[list(self.space.resolutions)] = np.arange(len(self.space.resolutions))
        object.__setattr__(self, "resolution_index", lookup)

    @property
    def tabulated(self) -> bool:
        return self.table is not None

    @property
    def entries(self) -> int:
        return int(np.prod(self.space.slot_table_shape))

    def subset(self, names: tuple[str, ...]) -> PopulationCosts:
        """The same costs restricted to `names` (in that order)."""
        index = [self.names.index(name) for name in names]
        return PopulationCosts(
            self.space,
            names,
            tuple(self.functions[i] for i in index),
            None if self.table is None else np.ascontiguousarray(self.table[:, index]),
            None if self.fixed is None else np.ascontiguousarray(self.fixed[:, index]),
            self.integer[index],
        )

    def evaluate(self, population: np.ndarray) -> np.ndarray:
        if self.table is None or self.fixed is None:
            return self.evaluate_directly(population)
        index = self.space.slot_index(population)
        resolution = self.resolution_index[np.asarray(population)[:, 0]]
        stride = self.entries + 1
        flat = np.where(index.active, index.entries, self.entries) + (resolution * stride)[:, None]
        total = self.fixed[resolution] + self.table[flat].sum(axis=1)
        if self.integer.any():
            total[:, self.integer] = np.rint(total[:, self.integer])
        return total

    def evaluate_directly(self, population: np.ndarray) -> np.ndarray:
        return np.stack(
            [np.asarray(f(population), dtype=np.float64) for f in self.functions], axis=1
        )


def population_costs(
    space: GenomeSpace[Any],
    functions: Mapping[str, CostFunction],
    *,
    tables: Mapping[str, TableSource] | None = None,
    check_rows: int = 512,
    relative_tolerance: float = 1e-9,
) -> PopulationCosts:
    """Tabulated costs when every function is additive over slots (checked), else direct ones.

    `tables`: the known slot tables of some of the functions, read instead of probed.
    """
    names, fns = tuple(functions), tuple(functions.values())
    rng = np.random.default_rng([0, 1])
    rows = np.concatenate(
        [space.to_population([space.min(), space.max()]), space.sample_population(check_rows, rng)]
    )
    integer = np.array(
        [np.issubdtype(np.asarray(f(rows[:1])).dtype, np.integer) for f in fns], dtype=bool
    )
    direct = PopulationCosts(space, names, fns, None, None, integer)
    known = dict(tables or {})
    probed = [name for name in names if name not in known]
    fixed = np.zeros((len(space.resolutions), len(names)))
    table = np.zeros((len(space.resolutions) * (direct.entries + 1), len(names)))
    if probed:
        fixed_probed, table_probed = _probe(space, direct.subset(tuple(probed)))
        columns = [names.index(name) for name in probed]
        fixed[:, columns], table[:, columns] = fixed_probed, table_probed
    for name, source in known.items():
        column = names.index(name)
        fixed[:, column], table[:, column] = _read_tables(space, source, direct.entries)
    tabulated = PopulationCosts(space, names, fns, table, fixed, integer)
    expected = direct.evaluate(rows)
    tolerance = relative_tolerance * np.maximum(1.0, np.abs(expected))
    if np.all(np.abs(tabulated.evaluate(rows) - expected) <= tolerance):
        return tabulated
    return direct


def _read_tables(
    space: GenomeSpace[Any], source: TableSource, entries: int
) -> tuple[np.ndarray, np.ndarray]:
    """One cost's fixed parts (resolutions,) and stacked entries (resolutions * (entries + 1),),
    read from its tables (a zero after each resolution's entries, read by inactive terms)."""
    fixed, values = [], []
    for resolution in space.resolutions:
        table = source(resolution)
        fixed.append(float(table.fixed))
        values.append(np.append(np.asarray(table.values, dtype=np.float64).ravel(), 0.0))
    if any(len(v) != entries + 1 for v in values):
        raise ValueError(f"a cost table does not have the space's {entries} entries")
    return np.array(fixed), np.concatenate(values)


def _probe(space: GenomeSpace[Any], direct: PopulationCosts) -> tuple[np.ndarray, np.ndarray]:
    """Per resolution, the fixed part and the entries that reproduce the direct costs.

    The same random rows probe every resolution (only their resolution gene changes), so the
    entry indicators, and the pseudo-inverse that solves for the entries, are computed once.
    """
    entries = int(np.prod(space.slot_table_shape))
    count = max(PROBE_ROWS_PER_ENTRY * entries, 64)
    rows = space.sample_population(count, np.random.default_rng([0, 2]))
    index = space.slot_index(rows)
    design = np.zeros((count, entries + 1))
    design[:, entries] = 1.0
    where, term = np.nonzero(index.active)
    np.add.at(design, (where, index.entries[where, term]), 1.0)
    solve = np.linalg.pinv(design)
    fixed, tables = [], []
    for resolution in space.resolutions:
        rows[:, 0] = resolution
        solution = solve @ direct.evaluate(rows)
        fixed.append(solution[entries])
        tables.append(np.concatenate([solution[:entries], np.zeros((1, len(direct.names)))]))
    return np.stack(fixed), np.concatenate(tables)
