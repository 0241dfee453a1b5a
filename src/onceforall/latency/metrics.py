"""How well predicted latencies match measured ones: MAPE, Kendall's tau, a linear correction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from onceforall.errors import LatencyTableError
from onceforall.latency.model import LatencyCorrection


def kendall_tau(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-b (ties in either variable accounted for), O(n^2) in numpy."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise LatencyTableError("kendall_tau needs two equally long vectors of at least 2 values")
    upper = np.triu_indices(len(x), k=1)
    dx = np.sign(x[:, None] - x[None, :])[upper]
    dy = np.sign(y[:, None] - y[None, :])[upper]
    denominator = np.sqrt(np.count_nonzero(dx) * np.count_nonzero(dy))
    return float((dx * dy).sum() / denominator) if denominator > 0 else float("nan")


def mape_percent(predicted: np.ndarray, measured: np.ndarray) -> float:
    """Mean absolute percentage error of `predicted` against `measured`."""
    measured = np.asarray(measured, dtype=np.float64)
    return float(np.mean(np.abs(np.asarray(predicted) - measured) / measured) * 100.0)


@dataclass(frozen=True)
class AgreementMetrics:
    mape_percent: float
    max_abs_percent_error: float
    kendall_tau: float
    mean_signed_percent_error: float  # > 0: the prediction is too high on average

    @classmethod
    def of(cls, predicted: np.ndarray, measured: np.ndarray) -> AgreementMetrics:
        predicted = np.asarray(predicted, dtype=np.float64)
        measured = np.asarray(measured, dtype=np.float64)
        relative = (predicted - measured) / measured * 100.0
        return cls(
            mape_percent=float(np.mean(np.abs(relative))),
            max_abs_percent_error=float(np.max(np.abs(relative))),
            kendall_tau=kendall_tau(predicted, measured),
            mean_signed_percent_error=float(np.mean(relative)),
        )


def fit_correction(
    table_sum: np.ndarray, active_blocks: np.ndarray, measured: np.ndarray, *, per_block: bool
) -> LatencyCorrection:
    """Least squares, in relative error, of measured ~ offset + scale * sum [+ c * blocks]."""
    table_sum = np.asarray(table_sum, dtype=np.float64)
    measured = np.asarray(measured, dtype=np.float64)
    columns = [np.ones_like(table_sum), table_sum]
    if per_block:
        columns.append(np.asarray(active_blocks, dtype=np.float64))
    design = np.stack(columns, axis=1)
    if len(measured) < design.shape[1] + 1:
        raise LatencyTableError(
            f"fitting a correction needs at least {design.shape[1] + 1} calibration networks"
        )
    # Dividing each row by the measured value minimizes squared *relative* error, as MAPE counts.
    weights = 1.0 / measured
    solution, *_ = np.linalg.lstsq(design * weights[:, None], measured * weights, rcond=None)
    return LatencyCorrection(
        offset_ms=float(solution[0]),
        scale=float(solution[1]),
        per_block_ms=float(solution[2]) if per_block else 0.0,
    )
