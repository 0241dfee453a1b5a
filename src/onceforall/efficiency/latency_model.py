"""Latency prediction from per-operator latencies, vectorized over population matrices.

latency(arch) = fixed(resolution) + sum over the active block slots of slot(resolution, k, e),
optionally corrected by a linear map fitted on end-to-end measurements (`LatencyCorrection`). As
for MACs (efficiency/flops.py), the per-slot values of one resolution form a (slots, kernels,
expands) table, and a population is a gather and a masked sum: no Python loop over networks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from onceforall.arch.genome import check_population, choice_index
from onceforall.arch.mbv3 import MBv3Arch, MBv3Space
from onceforall.errors import LatencyTableError


@dataclass(frozen=True, eq=False)
class ResolutionLatency:
    """Milliseconds at one resolution: the fixed part and one value per (slot, kernel, expand)."""

    resolution: int
    fixed_ms: float
    slot_ms: np.ndarray  # float64, (slots, len(kernel_sizes), len(expand_ratios))


@dataclass(frozen=True)
class LatencyCorrection:
    """measured ~ offset_ms + scale * table_sum + per_block_ms * active_blocks.

    Fitted on end-to-end measurements of calibration networks (see latency_validate.py): the sum of
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

    space: MBv3Space
    tables: Mapping[int, ResolutionLatency]
    source: str
    correction: LatencyCorrection | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        shape = (
            self.space.layout.num_slots,
            len(self.space.kernel_sizes),
            len(self.space.expand_ratios),
        )
        for resolution, table in self.tables.items():
            if table.slot_ms.shape != shape:
                raise LatencyTableError(
                    f"{self.source}: the table at resolution {resolution} has shape "
                    f"{table.slot_ms.shape}, the space needs {shape}"
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
        space = self.space
        population = check_population(space, population).astype(np.int64)
        _, k_cols, e_cols = space.columns()
        active = space.active_slots(population)
        choices = (
            choice_index(population[:, k_cols], space.kernel_sizes, active, "kernel_size"),
            choice_index(population[:, e_cols], space.expand_ratios, active, "expand_ratio"),
        )
        slots = np.arange(space.layout.num_slots)[None, :]
        total = np.zeros(len(population), dtype=np.float64)
        for resolution in np.unique(population[:, 0]).tolist():
            table = self.tables.get(int(resolution))
            if table is None:
                raise LatencyTableError(
                    f"no latency table for resolution {resolution}; {self.source} has "
                    f"{', '.join(str(r) for r in self.resolutions)}"
                )
            rows = population[:, 0] == resolution
            gathered = table.slot_ms[slots, choices[0][rows], choices[1][rows]]
            total[rows] = table.fixed_ms + np.where(active[rows], gathered, 0.0).sum(axis=1)
        if self.correction is not None:
            total = self.correction.apply(total, active.sum(axis=1))
        return total

    def predict(self, arch: MBv3Arch) -> float:
        self.space.validate(arch, any_resolution=True)
        return float(self.predict_population(self.space.to_population([arch]))[0])
