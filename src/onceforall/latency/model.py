"""Latency prediction from per-operator latencies, vectorized over population matrices.

latency(arch) = fixed(resolution) + sum over the parts that run of their operator's time,
optionally corrected by a linear map fitted on end-to-end measurements (`LatencyCorrection`). As
for MACs (arch/slot_table.py), the values of one resolution form the space's slot table, and a
population is a gather and a masked sum: no Python loop over networks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from onceforall.arch.slot_table import ResolutionTable, table_sums
from onceforall.arch.space import Space
from onceforall.errors import LatencyTableError


@dataclass(frozen=True)
class LatencyCorrection:
    """measured ~ offset_ms + scale * table_sum + per_block_ms * active_blocks.

    Fitted on end-to-end measurements of calibration networks (see validate.py): the sum of
    isolated operator timings misses what a whole network adds or saves (framework overhead per
    call, caches shared between layers).
    """

    offset_ms: float = 0.0
    scale: float = 1.0
    per_block_ms: float = 0.0

    def apply(self, table_sum: np.ndarray, active_blocks: np.ndarray) -> np.ndarray:
        return self.offset_ms + self.scale * table_sum + self.per_block_ms * active_blocks

    def to_json(self) -> dict[str, float]:
        return {
            "offset_ms": self.offset_ms,
            "scale": self.scale,
            "per_block_ms": self.per_block_ms,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> LatencyCorrection:
        expected = {"offset_ms", "scale", "per_block_ms"}
        if not isinstance(obj, Mapping) or set(obj) != expected:
            raise LatencyTableError(f"a latency correction has exactly the keys {sorted(expected)}")
        try:
            values = [float(obj[name]) for name in ("offset_ms", "scale", "per_block_ms")]
        except (TypeError, ValueError):
            raise LatencyTableError(
                f"a latency correction holds numbers, got {dict(obj)}"
            ) from None
        if not all(math.isfinite(value) for value in values):
            raise LatencyTableError(f"a latency correction holds finite numbers, got {values}")
        return cls(*values)


@dataclass(frozen=True, eq=False)
class LatencyModel:
    """Predicted latency (ms) of sub-networks of `space`.

    `space` is the asked space restricted to the resolutions the table covers (use it to sample
    or search); predicting a row at another resolution raises LatencyTableError listing them.
    """

    space: Space[Any]
    tables: Mapping[int, ResolutionTable]  # milliseconds, float64 values
    source: str
    correction: LatencyCorrection | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        shape = self.space.slot_table_shape
        for resolution, table in self.tables.items():
            if table.values.shape != shape:
                raise LatencyTableError(
                    f"{self.source}: the table at resolution {resolution} has shape "
                    f"{table.values.shape}, the space needs {shape}"
                )

    @property
    def resolutions(self) -> tuple[int, ...]:
        return tuple(sorted(self.tables))

    def without_correction(self) -> LatencyModel:
        return replace(self, correction=None)

    def with_correction(self, correction: LatencyCorrection | None) -> LatencyModel:
        return replace(self, correction=correction)

    def predict_population(self, population: np.ndarray) -> np.ndarray:
        """Float64 milliseconds, one per row of the space's population matrix."""
        index = self.space.slot_index(population)

        def table_at(resolution: int) -> ResolutionTable:
            table = self.tables.get(resolution)
            if table is None:
                raise LatencyTableError(
                    f"no latency table for resolution {resolution}; {self.source} has "
                    f"{', '.join(str(r) for r in self.resolutions)}"
                )
            return table

        total = table_sums(index, np.asarray(population)[:, 0], table_at, np.float64)
        if self.correction is not None:
            total = self.correction.apply(total, self.space.active_slots(population).sum(axis=1))
        return total

    def predict(self, arch: Any) -> float:
        self.space.validate(arch, any_resolution=True)
        return float(self.predict_population(self.space.to_population([arch]))[0])
