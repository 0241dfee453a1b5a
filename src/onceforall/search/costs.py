"""Costs of a population (MACs, params, latency) in one gather, for the search's constraint checks.

MACs, parameters and table latencies of a MobileNet-style sub-network are additive:
cost = fixed(resolution) + sum over the active slots of slot(resolution, slot, kernel, expand).
`population_costs` recovers those tables from the cost functions themselves by probing (one
evaluation of a few thousand rows), stacks every metric into one array, and checks the tables
against direct evaluation on random rows. A cost function that is not additive (a latency model
with another structure) is detected there and evaluated directly instead, which is slower but
exact. Probing needs no knowledge of how a cost function is built.

Probing, per resolution r: `base` runs every slot at the first kernel/expand choice and every
stage at its largest depth. Changing one slot's choice gives slot(r, s, k, e) - slot(r, s, k0, e0).
Lowering one stage's depth from one choice to the next smaller one removes a group of slots that
always run together; the difference is their base cost, credited to the group's first slot. Slots
that always run fold their base cost into the fixed part, measured on the smallest-depth row; the
fixed part is then added to the first slot (it always runs), so a population's costs are one
gather and one sum.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from onceforall.arch.mbv3 import MBv3Space

CostFunction = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, eq=False)
class PopulationCosts:
    """Evaluates named costs of population rows; `evaluate` returns (rows, len(names)) float64."""

    space: MBv3Space
    names: tuple[str, ...]
    functions: tuple[CostFunction, ...]
    # (resolutions * slots * (nk + 1) * (ne + 1), metrics), or None; the fixed part of each
    # resolution is added to the entries of the first slot, which always runs
    table: np.ndarray | None
    # offsets into `table`: of each resolution value, of each slot, of each (kernel, expand) pair
    offsets: tuple[np.ndarray, np.ndarray, np.ndarray] = field(init=False)
    gene_columns: tuple[slice, slice] = field(init=False)  # kernel sizes, expand ratios

    def __post_init__(self) -> None:
        space = self.space
        nk, ne, n_slots = len(space.kernel_sizes), len(space.expand_ratios), space.layout.num_slots
        per_slot = (nk + 1) * (ne + 1)
        pair = (
            choice_index(space.kernel_sizes)[:, None] * (ne + 1)
            + choice_index(space.expand_ratios)[None, :]
        )
        offsets = (
            choice_index(space.resolutions) * n_slots * per_slot,
            np.arange(n_slots) * per_slot,
            pair,
        )
        object.__setattr__(self, "offsets", offsets)
        object.__setattr__(self, "gene_columns", space.columns()[1:])

    @property
    def tabulated(self) -> bool:
        return self.table is not None

    def subset(self, names: tuple[str, ...]) -> PopulationCosts:
        """The same costs restricted to `names` (in that order)."""
        index = [self.names.index(name) for name in names]
        return PopulationCosts(
            self.space,
            names,
            tuple(self.functions[i] for i in index),
            None if self.table is None else np.ascontiguousarray(self.table[:, index]),
        )

    def evaluate(self, population: np.ndarray) -> np.ndarray:
        if self.table is None:
            return self.evaluate_directly(population)
        k_cols, e_cols = self.gene_columns
        resolution, slot, pair = self.offsets
        index = pair[population[:, k_cols], population[:, e_cols]]
        index += resolution[population[:, 0]][:, None] + slot
        return self.table[index].sum(axis=1)

    def evaluate_directly(self, population: np.ndarray) -> np.ndarray:
        return np.stack(
            [np.asarray(f(population), dtype=np.float64) for f in self.functions], axis=1
        )


def choice_index(choices: tuple[int, ...]) -> np.ndarray:
    """value -> index of the value in `choices`; 0 (an inactive gene) -> len(choices)."""
    lookup = np.full(max(choices) + 1, len(choices), dtype=np.int64)
    lookup[list(choices)] = np.arange(len(choices))
    return lookup


def population_costs(
    space: MBv3Space,
    functions: Mapping[str, CostFunction],
    *,
    check_rows: int = 512,
    relative_tolerance: float = 1e-9,
) -> PopulationCosts:
    """Tabulated costs when every function is additive over slots (checked), else direct ones."""
    names, fns = tuple(functions), tuple(functions.values())
    direct = PopulationCosts(space, names, fns, None)
    tabulated = PopulationCosts(space, names, fns, _probe(space, direct))
    rng = np.random.default_rng([0, 1])
    rows = np.concatenate(
        [space.to_population([space.min(), space.max()]), space.sample_population(check_rows, rng)]
    )
    expected = direct.evaluate(rows)
    tolerance = relative_tolerance * np.maximum(1.0, np.abs(expected))
    if np.all(np.abs(tabulated.evaluate(rows) - expected) <= tolerance):
        return tabulated
    return direct


def _probe(space: MBv3Space, direct: PopulationCosts) -> np.ndarray:
    nk, ne = len(space.kernel_sizes), len(space.expand_ratios)
    n_slots, n_stages = space.layout.num_slots, space.num_stages
    depth_cols, k_cols, e_cols = space.columns()
    offsets = np.concatenate([[0], np.cumsum(space.layout.slots_per_stage)])
    base = np.zeros(space.population_width, dtype=np.int32)
    base[depth_cols] = [max(space.stage_depths(s)) for s in range(n_stages)]
    base[k_cols], base[e_cols] = space.kernel_sizes[0], space.expand_ratios[0]

    rows = [base]  # per resolution: base, smallest depths, then choice probes, then depth probes
    smallest = base.copy()
    smallest[depth_cols] = [min(space.stage_depths(s)) for s in range(n_stages)]
    rows.append(smallest)
    choice_probes = [(s, i, j) for s in range(n_slots) for i in range(nk) for j in range(ne)]
    for s, i, j in choice_probes:
        row = base.copy()
        row[k_cols.start + s], row[e_cols.start + s] = space.kernel_sizes[i], space.expand_ratios[j]
        rows.append(row)
    depth_probes = [(s, d) for s in range(n_stages) for d in sorted(space.stage_depths(s))[:-1]]
    for s, d in depth_probes:
        row = base.copy()
        row[depth_cols.start + s] = d
        rows.append(row)
    per_resolution = np.stack(rows)
    population = np.concatenate(
        [np.column_stack([np.full(len(rows), r), per_resolution[:, 1:]]) for r in space.resolutions]
    ).astype(np.int32)
    values = direct.evaluate(space.canonicalize(population)).reshape(
        len(space.resolutions), len(rows), -1
    )
    metrics = values.shape[-1]
    table = np.zeros((len(space.resolutions), n_slots, nk + 1, ne + 1, metrics))
    base_value, fixed = values[:, 0], values[:, 1]
    choice_values = values[:, 2 : 2 + len(choice_probes)].reshape(-1, n_slots, nk, ne, metrics)
    table[:, :, :nk, :ne] = choice_values - base_value[:, None, None, None, :]
    depth_values = values[:, 2 + len(choice_probes) :]
    for probe, (s, d) in enumerate(depth_probes):
        deeper = next(c for c in sorted(space.stage_depths(s)) if c > d)
        if deeper == max(space.stage_depths(s)):
            group_cost = base_value - depth_values[:, probe]
        else:
            group_cost = depth_values[:, depth_probes.index((s, deeper))] - depth_values[:, probe]
        table[:, offsets[s] + d, :nk, :ne] += group_cost[:, None, None, :]
    table[:, 0, :nk, :ne] += fixed[:, None, None, :]
    return table.reshape(-1, metrics)
