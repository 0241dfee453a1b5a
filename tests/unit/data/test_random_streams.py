"""Seeded streams of the data layer: distinct per purpose and point, never the global RNG."""

from __future__ import annotations

import numpy as np
import pytest

from onceforall.data.seeding import Purpose, numpy_stream
from onceforall.errors import ConfigError


def test_trailing_zero_keys_are_kept_apart() -> None:
    # numpy would give the same stream for [1, 2] and [1, 2, 0]: keys end in a purpose tag instead.
    assert np.random.default_rng([1, 2]).integers(1 << 62) == np.random.default_rng(
        [1, 2, 0]
    ).integers(1 << 62)
    draws = {int(numpy_stream(1, purpose, epoch=2).integers(1 << 62)) for purpose in Purpose} | {
        int(numpy_stream(1, Purpose.SHUFFLE, epoch=2, step=s).integers(1 << 62)) for s in (1, 2)
    }
    assert len(draws) == len(Purpose) + 2


def test_same_key_same_stream() -> None:
    first = numpy_stream(3, Purpose.AUGMENT, epoch=1, step=4, rank=1).random(5)
    again = numpy_stream(3, Purpose.AUGMENT, epoch=1, step=4, rank=1).random(5)
    other_rank = numpy_stream(3, Purpose.AUGMENT, epoch=1, step=4, rank=2).random(5)
    assert np.array_equal(first, again) and not np.array_equal(first, other_rank)


def test_negative_keys_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        numpy_stream(-1, Purpose.SHUFFLE)
