"""How well a predictor ranks and scores held-out sub-networks: RMSE (percentage points), Kendall's
tau, and a predicted-vs-measured scatter plot. Written as report.json + predicted_vs_measured.png.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from onceforall.arch.space import Space
from onceforall.atomic_files import atomic_write, atomic_write_json
from onceforall.errors import PredictorError
from onceforall.latency.metrics import kendall_tau
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


def have_matplotlib() -> bool:
    """Plots need matplotlib (the `plots` extra); without it the PNGs are skipped."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def new_axes(width: float, height: float, columns: int = 1) -> tuple[Any, Any]:
    """A figure and its axes (one, or an array of `columns` side by side), drawn with the Agg
    backend (no pyplot, no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=120)
    FigureCanvasAgg(figure)
    return figure, figure.subplots(1, columns)


def save_png(figure: Any, path: Path) -> None:
    figure.tight_layout()
    atomic_write(Path(path), lambda temporary: figure.savefig(temporary, format="png"))


def plot_predicted_vs_measured(
    path: Path,
    predicted: np.ndarray,
    measured: np.ndarray,
    report: HeldOutReport,
    title: str,
) -> None:
    """A scatter of predicted against measured accuracy (%) with the identity line."""
    figure, axes = new_axes(5, 5)
    x, y = 100.0 * np.asarray(measured), 100.0 * np.asarray(predicted)
    low, high = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
    margin = 0.05 * max(high - low, 1e-3)
    axes.plot([low - margin, high + margin], [low - margin, high + margin], color="0.6", lw=1)
    axes.scatter(x, y, s=8, alpha=0.6)
    axes.set_xlabel("measured top-1 (%)")
    axes.set_ylabel("predicted top-1 (%)")
    axes.set_title(title, fontsize=9)
    axes.text(
        0.03,
        0.97,
        f"n={report.n}  RMSE={report.rmse_pp:.2f} pp  tau={report.kendall_tau:.3f}",
        transform=axes.transAxes,
        va="top",
        fontsize=8,
    )
    save_png(figure, path)
