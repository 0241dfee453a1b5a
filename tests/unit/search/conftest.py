"""Fixtures for search tests: the tiny space, predictors with known behaviour, fake latencies."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from onceforall.arch.mbv3 import MBv3Arch, MBv3Space
from onceforall.families.mbv3_features import FeatureEncoding
from onceforall.models.registry import supernet_space
from onceforall.predict.accuracy import AccuracyPredictor, build_mlp

REFERENCE_DATA = Path(__file__).parents[4] / "shared" / "reference-data" / "ofa"


@dataclass(frozen=True)
class LinearLatency:
    """A stand-in latency table: 0.5 ms + 2 ms per MMAC (additive over slots, like a table)."""

    space: MBv3Space

    @property
    def resolutions(self) -> tuple[int, ...]:
        return self.space.resolutions

    def predict_population(self, population: np.ndarray) -> np.ndarray:
        return 0.5 + 2.0 * self.space.macs_population(population) / 1e6

    def predict(self, arch: MBv3Arch) -> float:
        return float(self.predict_population(self.space.to_population([arch]))[0])


@dataclass(frozen=True)
class SquaredLatency(LinearLatency):
    """Not additive over slots: the cost tables must notice and evaluate it directly."""

    def predict_population(self, population: np.ndarray) -> np.ndarray:
        return (self.space.macs_population(population) / 1e5) ** 2


def additive_predictor(space: MBv3Space) -> AccuracyPredictor:
    """accuracy = 0.5 + sum of per-feature gains growing with kernel, expand and resolution.

    Bigger is always better, so within a budget the best sub-network sits at its edge.
    """
    encoding = FeatureEncoding.for_space(space)
    nk, ne, slots = len(space.kernel_sizes), len(space.expand_ratios), encoding.num_slots
    gains = np.concatenate(
        [
            np.tile(0.003 * (1 + np.arange(nk)), slots),
            np.tile(0.002 * (1 + np.arange(ne)), slots),
            0.01 * np.arange(len(encoding.resolution_bins)),
        ]
    )
    network = build_mlp(encoding.width, [1])
    with torch.no_grad():
        network[0].weight.copy_(torch.tensor(gains, dtype=torch.float32)[None, :])
        network[0].bias.zero_()
        network[2].weight.fill_(1.0)
        network[2].bias.fill_(0.5)
    return AccuracyPredictor(encoding, network, supernet="test_mbv3_tiny")


def random_predictor(space: MBv3Space, seed: int = 0) -> AccuracyPredictor:
    """A small MLP with seeded random weights: an arbitrary, rugged accuracy landscape."""
    encoding = FeatureEncoding.for_space(space)
    generator = torch.Generator().manual_seed(seed)
    return AccuracyPredictor(encoding, build_mlp(encoding.width, [32, 32], generator))


@pytest.fixture(scope="session")
def tiny_space() -> MBv3Space:
    space = supernet_space("test_mbv3_tiny")
    assert isinstance(space, MBv3Space)
    return space


@pytest.fixture(scope="session")
def additive(tiny_space: MBv3Space) -> AccuracyPredictor:
    return additive_predictor(tiny_space)


@pytest.fixture(scope="session")
def rugged(tiny_space: MBv3Space) -> AccuracyPredictor:
    return random_predictor(tiny_space)


@pytest.fixture(scope="session")
def linear_latency(tiny_space: MBv3Space) -> LinearLatency:
    return LinearLatency(tiny_space)


@pytest.fixture(scope="session")
def squared_latency(tiny_space: MBv3Space) -> SquaredLatency:
    return SquaredLatency(tiny_space)


@pytest.fixture(scope="session")
def latency_like() -> type[LinearLatency]:
    """The stand-in latency class, to build for any space."""
    return LinearLatency


@pytest.fixture(scope="session")
def note10() -> Path:
    """The reference's Note10 latency tables (skip when the reference data is not here)."""
    folder = REFERENCE_DATA / "note10"
    if not folder.is_dir():
        pytest.skip(f"no reference latency tables at {folder}")
    return folder
