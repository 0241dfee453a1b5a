"""Named random streams for the data layer, derived from one seed.

Every random choice in data/ (shuffling, per-batch resolution, augmentation, held-out splits,
calibration subsets, synthetic images) draws from its own stream, keyed by the run seed and by where
it is used. Nothing touches numpy's or torch's global generators.

Why the keys have a fixed length and end in a non-zero purpose tag: numpy's ``SeedSequence``
ignores trailing zeros, so ``default_rng([seed, epoch])`` and ``default_rng([seed, epoch, 0])`` are
the *same* stream. Writing every key as ``[seed, epoch, step, rank, purpose]`` with ``purpose >= 1``
keeps the streams apart.
"""

from __future__ import annotations

import enum

import numpy as np

from onceforall.errors import ConfigError


class Purpose(enum.IntEnum):
    """What a stream is used for; the value is the last entry of the seed key (never 0)."""

    SHUFFLE = 1
    RESOLUTION = 2
    AUGMENT = 3
    HOLDOUT = 4
    CALIBRATION = 5
    SYNTHETIC = 6


def numpy_stream(
    seed: int, purpose: Purpose, *, epoch: int = 0, step: int = 0, rank: int = 0
) -> np.random.Generator:
    """A numpy generator for one purpose at one point of a run (same key, same stream)."""
    if min(seed, epoch, step, rank) < 0:
        raise ConfigError(
            f"seed, epoch, step and rank must be >= 0, got {seed}, {epoch}, {step}, {rank}"
        )
    return np.random.default_rng([seed, epoch, step, rank, int(purpose)])
