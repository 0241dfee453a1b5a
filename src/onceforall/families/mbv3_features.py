"""Predictor inputs: a population matrix -> one-hot features, vectorized (no loop over networks).

The layout is the paper's and the released predictor's: for every block slot, a one-hot of its
kernel size, then for every slot a one-hot of its expand ratio (all zeros for slots skipped by the
depth), then a one-hot of the resolution:

    [slot 0: k3 k5 k7 | slot 1: k3 k5 k7 | ... | slot 0: e3 e4 e6 | ... | resolution bins]

Resolutions are binned: a resolution sets the bin of the largest edge <= it. Our own predictors
use one bin per resolution of the space; the released OFA-MobileNetV3 predictor uses 8 bins of 16
px starting at 112 (its `(r - 112) // 16`), so 128..140 share one input, 144..156 the next, etc.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from onceforall.arch.genome import check_population
from onceforall.arch.mbv3 import MBv3Space
from onceforall.errors import ArchError, PredictorError


@dataclass(frozen=True)
class FeatureEncoding:
    """How a sub-network of a MobileNet-style space becomes the predictor's input vector."""

    kernel_sizes: tuple[int, ...]
    expand_ratios: tuple[int, ...]
    slots_per_stage: tuple[int, ...]
    resolution_bins: tuple[int, ...]  # sorted lower edges

    def __post_init__(self) -> None:
        for name in ("kernel_sizes", "expand_ratios", "slots_per_stage", "resolution_bins"):
            values = tuple(int(v) for v in getattr(self, name))
            if not values or min(values) <= 0:
                raise PredictorError(f"feature encoding: {name} must be positive, got {values}")
            object.__setattr__(self, name, values)
        for name in ("kernel_sizes", "expand_ratios", "resolution_bins"):
            values = getattr(self, name)
            if list(values) != sorted(set(values)):
                raise PredictorError(f"feature encoding: {name} must be sorted and distinct")

    @classmethod
    def for_space(cls, space: MBv3Space) -> FeatureEncoding:
        """The paper's encoding of `space`: one resolution bin per resolution of the space."""
        return cls(
            kernel_sizes=space.kernel_sizes,
            expand_ratios=space.expand_ratios,
            slots_per_stage=space.layout.slots_per_stage,
            resolution_bins=space.resolutions,
        )

    @classmethod
    def released_mbv3(cls) -> FeatureEncoding:
        """The 128 inputs of the released OFA-MobileNetV3 predictor (acc_predictor.pth)."""
        return cls(
            kernel_sizes=(3, 5, 7),
            expand_ratios=(3, 4, 6),
            slots_per_stage=(4, 4, 4, 4, 4),
            resolution_bins=tuple(range(112, 225, 16)),
        )

    @property
    def num_slots(self) -> int:
        return sum(self.slots_per_stage)

    @property
    def width(self) -> int:
        """Number of input features."""
        per_slot = len(self.kernel_sizes) + len(self.expand_ratios)
        return self.num_slots * per_slot + len(self.resolution_bins)

    def to_json(self) -> dict[str, Any]:
        return {
            "kernel_sizes": list(self.kernel_sizes),
            "expand_ratios": list(self.expand_ratios),
            "slots_per_stage": list(self.slots_per_stage),
            "resolution_bins": list(self.resolution_bins),
        }

    @classmethod
    def from_json(cls, obj: Any) -> FeatureEncoding:
        expected = {"kernel_sizes", "expand_ratios", "slots_per_stage", "resolution_bins"}
        if not isinstance(obj, dict) or set(obj) != expected:
            raise PredictorError(f"a feature encoding has exactly the keys {sorted(expected)}")
        try:
            return cls(**{key: tuple(obj[key]) for key in expected})
        except TypeError as error:
            raise PredictorError(f"bad feature encoding: {error}") from None

    def check_space(self, space: MBv3Space) -> None:
        """PredictorError unless every sub-network of `space` has an encoding here."""
        if not isinstance(space, MBv3Space):
            raise PredictorError(
                f"the predictor encodes MobileNet-style spaces, not {type(space).__name__}"
            )
        problems = []
        if space.layout.slots_per_stage != self.slots_per_stage:
            problems.append(
                f"block slots per stage {space.layout.slots_per_stage} != {self.slots_per_stage}"
            )
        for name in ("kernel_sizes", "expand_ratios"):
            extra = sorted(set(getattr(space, name)) - set(getattr(self, name)))
            if extra:
                problems.append(f"{name} {extra} not in {getattr(self, name)}")
        if min(space.resolutions) < self.resolution_bins[0]:
            problems.append(
                f"resolution {min(space.resolutions)} below the first bin {self.resolution_bins[0]}"
            )
        if problems:
            raise PredictorError("the predictor was made for another space: " + "; ".join(problems))

    @cached_property
    def _kernel_index(self) -> np.ndarray:
        return _lookup(self.kernel_sizes)

    @cached_property
    def _expand_index(self) -> np.ndarray:
        return _lookup(self.expand_ratios)

    def encode(self, space: MBv3Space, population: np.ndarray) -> np.ndarray:
        """Float32 features, one row per row of `space`'s population matrix."""
        population = check_population(space, population)
        _, k_cols, e_cols = space.columns()
        active = space.active_slots(population)
        rows, slots = np.nonzero(active)
        k_index = _indices(self._kernel_index, population[:, k_cols][rows, slots], "kernel_size")
        e_index = _indices(self._expand_index, population[:, e_cols][rows, slots], "expand_ratio")
        resolution_bin = np.searchsorted(self.resolution_bins, population[:, 0], side="right") - 1
        if (resolution_bin < 0).any():
            low = int(population[resolution_bin < 0, 0].min())
            raise ArchError(f"resolution {low} is below the first bin {self.resolution_bins[0]}")
        nk, ne, n_slots = len(self.kernel_sizes), len(self.expand_ratios), self.num_slots
        features = np.zeros((len(population), self.width), dtype=np.float32)
        features[rows, slots * nk + k_index] = 1.0
        features[rows, n_slots * nk + slots * ne + e_index] = 1.0
        features[np.arange(len(population)), n_slots * (nk + ne) + resolution_bin] = 1.0
        return features


def _lookup(choices: tuple[int, ...]) -> np.ndarray:
    table = np.full(max(choices) + 1, -1, dtype=np.int64)
    table[list(choices)] = np.arange(len(choices))
    return table


def _indices(table: np.ndarray, values: np.ndarray, name: str) -> np.ndarray:
    """Index of each value in the encoding's choices; ArchError for a value it cannot encode."""
    clipped = np.clip(values, 0, len(table) - 1)
    index = table[clipped]
    bad = (index < 0) | (values != clipped)
    if bad.any():
        raise ArchError(f"{name}={int(values[bad][0])} cannot be encoded by this predictor")
    return index
