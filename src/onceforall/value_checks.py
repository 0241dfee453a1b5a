"""Checks of single settings, shared by the config dataclasses (in `__post_init__`) and the CLI.

Each raises `error` (ConfigError by default) with a one-line message naming the setting, so a
bad value is refused when the config is built, before any work starts.
"""

from __future__ import annotations

import math
import re

from onceforall.errors import ConfigError, OnceForAllError

# A name that becomes part of a file name: letters, digits, '_' and '-', not starting with '-'.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
MAX_SEED = 2**63 - 1  # torch.manual_seed and numpy accept up to here
MAX_RESOLUTION = 1024  # pixels; the paper's supernets use 128-224
MAX_THREADS = 4096


def _show(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def check_finite(name: str, value: float, error: type[OnceForAllError] = ConfigError) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise error(f"{name} must be a finite number, got {value}")


def check_range(
    name: str,
    value: float,
    *,
    at_least: float | None = None,
    above: float | None = None,
    at_most: float | None = None,
    below: float | None = None,
    error: type[OnceForAllError] = ConfigError,
) -> None:
    """`value` finite and within the bounds given (inclusive `at_*`, exclusive `above`/`below`)."""
    check_finite(name, value, error)
    bounds = []
    if at_least is not None:
        bounds.append((value >= at_least, f">= {_show(at_least)}"))
    if above is not None:
        bounds.append((value > above, f"> {_show(above)}"))
    if at_most is not None:
        bounds.append((value <= at_most, f"<= {_show(at_most)}"))
    if below is not None:
        bounds.append((value < below, f"< {_show(below)}"))
    if not all(ok for ok, _ in bounds):
        wanted = " and ".join(text for _, text in bounds)
        raise error(f"{name} must be {wanted}, got {_show(value)}")


def check_count(
    name: str,
    value: int,
    *,
    at_least: int = 1,
    at_most: int | None = None,
    error: type[OnceForAllError] = ConfigError,
) -> None:
    """An integer setting within [at_least, at_most]."""
    check_range(name, value, at_least=at_least, at_most=at_most, error=error)


def check_fraction(name: str, value: float, *, error: type[OnceForAllError] = ConfigError) -> None:
    """A probability-like setting in [0, 1)."""
    check_range(name, value, at_least=0.0, below=1.0, error=error)


def check_plain_name(name: str, value: str, error: type[OnceForAllError] = ConfigError) -> None:
    """A name used in file names: no path separators, no dots, not empty, at most 64 chars."""
    if not _PLAIN_NAME.fullmatch(value):
        raise error(
            f"{name} must be a plain name (letters, digits, '_' or '-', at most 64), got {value!r}"
        )


def check_seed(name: str, value: int, error: type[OnceForAllError] = ConfigError) -> None:
    check_count(name, value, at_least=0, at_most=MAX_SEED, error=error)


def check_resolution(name: str, value: int, error: type[OnceForAllError] = ConfigError) -> None:
    check_count(name, value, at_least=1, at_most=MAX_RESOLUTION, error=error)
