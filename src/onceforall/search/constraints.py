"""Hard constraints of a search: budgets on MACs, parameters and latency, checked on populations.

A `Budget` bounds any of the three; a search takes several and returns one result per budget.
Every cost is monotone in kernel size, expand ratio, depth and resolution (tests check it for
each kind of cost), so the space's smallest sub-network is the cheapest in every respect: a budget
it does not meet cannot be met at all, and `check_feasible` says so at once, naming the smallest
achievable value, instead of sampling forever.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from onceforall.errors import SearchError

METRICS = ("macs", "params", "latency_ms")


class LatencyModel(Protocol):
    """What search needs of a latency table (onceforall.latency.load.load_latency_table)."""

    @property
    def resolutions(self) -> tuple[int, ...]:
        """The input resolutions the table covers."""
        ...

    def predict_population(self, population: np.ndarray) -> np.ndarray:
        """Milliseconds (float64), one per row of the space's population matrix."""
        ...

    def predict(self, arch: Any) -> float: ...


@dataclass(frozen=True)
class Budget:
    """Upper bounds (inclusive); None leaves a cost free."""

    max_macs: float | None = None
    max_params: float | None = None
    max_latency_ms: float | None = None

    def __post_init__(self) -> None:
        values = self.limits()
        if all(math.isinf(v) for v in values):
            raise SearchError("a budget needs at least one of max_macs, max_params, max_latency_ms")
        for name, value in zip(METRICS, values, strict=True):
            if math.isnan(value) or value <= 0:
                raise SearchError(f"budget {name} must be a positive number, got {value}")

    def limits(self) -> tuple[float, float, float]:
        """(macs, params, latency_ms), inf where free; in the order of METRICS."""
        return tuple(  # type: ignore[return-value]
            math.inf if v is None else float(v)
            for v in (self.max_macs, self.max_params, self.max_latency_ms)
        )

    def describe(self) -> str:
        parts = []
        if self.max_latency_ms is not None:
            parts.append(f"latency <= {self.max_latency_ms:g} ms")
        if self.max_macs is not None:
            parts.append(f"MACs <= {self.max_macs / 1e6:g}M")
        if self.max_params is not None:
            parts.append(f"params <= {self.max_params / 1e6:g}M")
        return ", ".join(parts)

    def to_json(self) -> dict[str, float | None]:
        return {
            "max_macs": self.max_macs,
            "max_params": self.max_params,
            "max_latency_ms": self.max_latency_ms,
        }


def budgets_from_lists(
    *,
    max_macs: Sequence[float] = (),
    max_params: Sequence[float] = (),
    max_latency_ms: Sequence[float] = (),
) -> list[Budget]:
    """One budget per value of the longest list; a one-value list applies to every budget.

    `max_latency_ms=[15, 20], max_macs=[400e6]` gives two budgets, both with the MACs bound.
    """
    lists = {"max_macs": max_macs, "max_params": max_params, "max_latency_ms": max_latency_ms}
    count = max(len(v) for v in lists.values())
    if count == 0:
        raise SearchError("no budget given: set a maximum latency, MACs or parameter count")
    for name, values in lists.items():
        if len(values) not in (0, 1, count):
            raise SearchError(
                f"{name} has {len(values)} values; give 1 or {count} (one per budget)"
            )
    return [
        Budget(
            **{
                name: (values[i] if len(values) == count else values[0]) if values else None
                for name, values in lists.items()
            }
        )
        for i in range(count)
    ]


def check_feasible(budgets: Sequence[Budget], smallest_costs: np.ndarray, smallest: str) -> None:
    """SearchError naming the first budget that even the smallest sub-network exceeds.

    `smallest_costs`: (macs, params, latency_ms) of the space's smallest sub-network `smallest`
    (NaN for a cost that is not evaluated).
    """
    units = {"macs": 1e6, "params": 1e6, "latency_ms": 1.0}
    suffix = {"macs": "M MACs", "params": "M parameters", "latency_ms": " ms"}
    for budget in budgets:
        for name, limit, value in zip(METRICS, budget.limits(), smallest_costs, strict=True):
            if not math.isinf(limit) and math.isnan(value):
                raise SearchError(f"a {name} budget needs a latency table (--latency-table)")
            if value > limit:
                raise SearchError(
                    f"no sub-network meets {budget.describe()}: the smallest one ({smallest}) "
                    f"has {value / units[name]:.6g}{suffix[name]} > "
                    f"{limit / units[name]:.6g}{suffix[name]}"
                )
