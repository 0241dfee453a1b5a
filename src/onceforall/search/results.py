"""What a search returns, and its JSON form (the arch as string, JSON and reference dict)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from onceforall.search.constraints import Budget
from onceforall.search.problem import SearchProblem


@dataclass(frozen=True)
class SearchResult:
    """The chosen sub-network for one budget."""

    budget: Budget
    arch: Any
    predicted_accuracy: float  # fraction
    macs: int
    params: int
    latency_ms: float | None
    reference: dict[str, Any] = field(compare=False)  # the reference's {"ks", "e", "d", "r"}
    history: tuple[float, ...] = ()  # best predicted accuracy at each generation
    evaluated: int = 0  # distinct sub-networks the predictor scored (shared by the budgets)

    def to_json(self) -> dict[str, Any]:
        return {
            "budget": self.budget.to_json(),
            "arch": self.reference,
            "arch_string": str(self.arch),
            "arch_json": self.arch.to_json(),
            "predicted_accuracy": self.predicted_accuracy,
            "macs": self.macs,
            "params": self.params,
            "latency_ms": self.latency_ms,
            "evaluated": self.evaluated,
        }


def result_from_row(
    problem: SearchProblem,
    budget: Budget,
    row: np.ndarray,
    predicted_accuracy: float,
    *,
    history: tuple[float, ...] = (),
    evaluated: int = 0,
) -> SearchResult:
    """A result with the row's exact costs (evaluated directly, not from the search's tables)."""
    arch = problem.space.from_population(row[None, :])[0]
    costs = problem.metrics(row[None, :])[0]
    return SearchResult(
        budget=budget,
        arch=arch,
        predicted_accuracy=predicted_accuracy,
        macs=int(costs["macs"] or 0),
        params=int(costs["params"] or 0),
        latency_ms=None if costs["latency_ms"] is None else float(costs["latency_ms"]),
        reference=problem.space.to_reference_dict(arch),
        history=history,
        evaluated=evaluated,
    )
