"""Slot tables: costs that add up over the parts of a sub-network (torch-free).

MACs, parameters and table latencies of every family are additive:

    cost(row) = fixed(resolution) + sum over the row's terms of values(resolution)[entry]

A space says which entry of its table each term of a population row reads (`Space.slot_index`:
for a MobileNet-style space one term per block slot, the entry of its (slot, kernel size, expand
ratio); for OFA-ResNet also the stem and the classifier). A cost is then one `ResolutionTable` per
resolution, and a population's costs are a gather and a masked sum: no Python loop over networks.
MACs and parameters (arch/*_costs.py), predicted latency (the latency model) and the search's
stacked costs (search/costs.py) all have this one form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class SlotIndex:
    """Where each term of each population row reads a slot table.

    entries: int64 (rows, terms), flat indices into a table's `values` (any index where inactive)
    active: bool (rows, terms), which terms run
    """

    entries: np.ndarray
    active: np.ndarray

    def blocks(self) -> np.ndarray:
        """Number of terms that run, per row (int64)."""
        return self.active.sum(axis=1)


@dataclass(frozen=True, eq=False)
class ResolutionTable:
    """One cost at one resolution: the fixed part and one value per table entry.

    `values` has the shape of the space's `slot_table_shape` (int64 for counts, float64 for
    milliseconds).
    """

    resolution: int
    fixed: float
    values: np.ndarray


def table_sums(
    index: SlotIndex,
    resolutions: np.ndarray,
    table_at: Callable[[int], ResolutionTable],
    dtype: type[np.generic],
) -> np.ndarray:
    """fixed + the sum of the active terms' values, per row (rows grouped by resolution)."""
    total = np.zeros(len(resolutions), dtype=dtype)
    for resolution in np.unique(resolutions).tolist():
        rows = resolutions == resolution
        table = table_at(int(resolution))
        gathered = table.values.ravel()[index.entries[rows]]
        total[rows] = table.fixed + np.where(index.active[rows], gathered, 0).sum(axis=1)
    return total
