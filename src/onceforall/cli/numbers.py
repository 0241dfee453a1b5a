"""Argument types for the numbers of the command line: parsed and range-checked by argparse.

A bad number is a one-line usage error (exit 2) before any work. Integers may be written in
scientific notation (`-n 1e6`); sizes are also checked against memory by the library.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from onceforall.value_checks import MAX_RESOLUTION, MAX_SEED, MAX_THREADS

MAX_CLASSES = 1_000_000


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not math.isfinite(value) or value != int(value):
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}")
    return int(value)


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number: {text!r}")
    return value


def int_range(low: int, high: int | None = None) -> Callable[[str], int]:
    """An integer in [low, high] (no upper bound when `high` is None)."""

    def parse(text: str) -> int:
        value = _integer(text)
        if value < low or (high is not None and value > high):
            wanted = f">= {low}" if high is None else f"in [{low}, {high}]"
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text}")
        return value

    parse.__name__ = "integer"  # argparse names the type in "invalid integer value"
    return parse


def float_range(
    low: float, high: float | None = None, *, low_open: bool = False, high_open: bool = False
) -> Callable[[str], float]:
    """A finite number between `low` and `high` (each bound inclusive unless open)."""

    def parse(text: str) -> float:
        value = _number(text)
        too_low = value <= low if low_open else value < low
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high:
            left = "(" if low_open else "["
            right = "inf)" if high is None else (f"{high:g})" if high_open else f"{high:g}]")
            raise argparse.ArgumentTypeError(f"must be in {left}{low:g}, {right}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


positive_int = int_range(1)
non_negative_int = int_range(0)
seed = int_range(0, MAX_SEED)
threads = int_range(1, MAX_THREADS)
num_classes = int_range(1, MAX_CLASSES)
resolution = int_range(1, MAX_RESOLUTION)
positive_float = float_range(0.0, low_open=True)
non_negative_float = float_range(0.0)
probability = float_range(0.0, 1.0)  # [0, 1]
fraction = float_range(0.0, 1.0, high_open=True)  # [0, 1)
