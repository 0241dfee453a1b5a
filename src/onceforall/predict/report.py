"""How well a predictor ranks and scores held-out sub-networks: RMSE (percentage points), Kendall's
tau, and a predicted-vs-measured scatter plot. Written as report.json + predicted_vs_measured.png.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from onceforall.arch.space import Space
from onceforall.atomic_files import atomic_write_json
from onceforall.errors import PredictorError
from onceforall.latency.metrics import kendall_tau
from onceforall.plots import have_matplotlib, plot_predicted_vs_measured
from onceforall.predict.accuracy import AccuracyPredictor
from onceforall.predict.records import AccuracyRecords

REPORT_FILE = "report.json"
PLOT_FILE = "predicted_vs_measured.png"


@dataclass(frozen=True)
class HeldOutReport:
    n: int
    rmse_pp: float  # root mean squared error, in percentage points of top-1 accuracy
    mae_pp: float
    max_abs_error_pp: float
    mean_error_pp: float  # predicted - measured, averaged: > 0 means optimistic
    kendall_tau: float  # tau-b: agreement of the rankings, 1 = identical order

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def held_out_report(predicted: np.ndarray, measured: np.ndarray) -> HeldOutReport:
    predicted = np.asarray(predicted, dtype=np.float64)
    measured = np.asarray(measured, dtype=np.float64)
    if predicted.shape != measured.shape or len(measured) < 2:
        raise PredictorError("a held-out report needs at least 2 predicted/measured pairs")
    error = 100.0 * (predicted - measured)
    return HeldOutReport(
        n=len(measured),
        rmse_pp=float(np.sqrt(np.mean(error**2))),
        mae_pp=float(np.mean(np.abs(error))),
        max_abs_error_pp=float(np.max(np.abs(error))),
        mean_error_pp=float(np.mean(error)),
        kendall_tau=kendall_tau(predicted, measured),
    )


def evaluate_predictor(
    predictor: AccuracyPredictor, space: Space[Any], records: AccuracyRecords
) -> tuple[HeldOutReport, np.ndarray]:
    """The report on `records` and the predictions it was computed from."""
    predicted = predictor.predict_population(space, records.population)
    return held_out_report(predicted, records.accuracy), predicted


def write_report(
    out_dir: Path,
    report: HeldOutReport,
    predicted: np.ndarray,
    measured: np.ndarray,
    extra: dict[str, Any],
    title: str,
) -> list[Path]:
    """report.json (the report and `extra`) and, when matplotlib is installed, the PNG."""
    out_dir = Path(out_dir)
    written = []
    if have_matplotlib():
        written.append(out_dir / PLOT_FILE)
        plot_predicted_vs_measured(written[-1], predicted, measured, report, title)
    payload = {"held_out": report.to_json(), **extra}
    atomic_write_json(out_dir / REPORT_FILE, payload)
    return [out_dir / REPORT_FILE, *written]
