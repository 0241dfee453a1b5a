"""Every figure onceforall draws, in one place, each written as a PNG atomically.

- `plot_panel`: training, the panel sub-networks' held-out accuracy after each phase;
- `plot_predicted_vs_measured`: the predictor's held-out report;
- `plot_front`: a search's predicted Pareto front;
- `plot_demo_pareto`: the demo's front with its picks, predicted and measured.

matplotlib is the optional `plots` extra: it is imported only inside the functions that draw
(Agg backend, no pyplot, no global state), so importing this module costs nothing and the CLI
answers without it; without it every figure is skipped (the training panel with a note, once).
Run-time imports stay at the bottom (atomic files), so any layer may draw; the values drawn are
named for type checking only.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from onceforall.atomic_files import atomic_write

if TYPE_CHECKING:
    from onceforall.predict.report import HeldOutReport
    from onceforall.search.pareto import ParetoFront


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


_NOTES_GIVEN: set[str] = set()


def _note_once(message: str) -> None:
    if message not in _NOTES_GIVEN:
        _NOTES_GIVEN.add(message)
        print(message, file=sys.stderr)


def plot_panel(events: list[dict[str, Any]], path: Path) -> bool:
    """Held-out accuracy of the panel sub-networks at the end of each phase (from the `panel`
    events of metrics.jsonl). Without matplotlib the plot is skipped, with a note once.
    Whether the plot was written.
    """
    if not have_matplotlib():
        _note_once(f"note: matplotlib is not installed (the plots extra); {path.name} skipped")
        return False
    evals = [e for e in events if e.get("event") == "panel"]
    if not evals:
        return False
    phases: list[str] = []
    for e in evals:
        if e["phase"] not in phases:
            phases.append(e["phase"])
    figure, axis = new_axes(7, 4.5)
    labels = sorted({e["label"] for e in evals}, key=lambda s: (s != "min", s != "max", s))
    for label in labels:
        points = {e["phase"]: e["accuracy"] for e in evals if e["label"] == label}
        xs = [i for i, p in enumerate(phases) if p in points]
        axis.plot(xs, [100 * points[phases[i]] for i in xs], marker="o", label=label)
    axis.set_xticks(range(len(phases)), phases, rotation=20)
    axis.set_ylabel("held-out top-1 (%)")
    axis.set_title("panel sub-networks after each phase (BN re-calibrated)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    save_png(figure, path)
    return True


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


FRONT_LABELS = {"latency_ms": "latency (ms)", "macs": "MMACs", "params": "parameters (M)"}
FRONT_SCALE = {"latency_ms": 1.0, "macs": 1e-6, "params": 1e-6}


def plot_front(path: Path, front: ParetoFront, title: str) -> bool:
    """Every front point, its predicted accuracy against its cost. False (nothing written) when
    matplotlib is not installed or the front is empty."""
    if not have_matplotlib() or not front.points:
        return False
    cost = np.array([getattr(p, front.objective) for p in front.points], dtype=float)
    cost *= FRONT_SCALE[front.objective]
    accuracy = 100.0 * np.array([p.predicted_accuracy for p in front.points])
    figure, axes = new_axes(6, 4)
    axes.step(cost, accuracy, where="post", color="0.7", lw=1)
    axes.scatter(cost, accuracy, s=10)
    axes.set_xlabel(FRONT_LABELS[front.objective])
    axes.set_ylabel("predicted top-1 (%)")
    axes.set_title(f"{title} ({len(front.points)} points)", fontsize=9)
    axes.grid(alpha=0.3)
    save_png(figure, path)
    return True


def plot_demo_pareto(path: Path, front: dict[str, Any], rows: Sequence[dict[str, Any]]) -> None:
    """The demo's predicted front (pareto.json), its picks as predicted and as measured (latency,
    test top-1; rows of the demo's summary) and the budgets."""
    if not have_matplotlib():
        return
    figure, axes = new_axes(6.5, 4.5)
    points = front["points"]
    axes.step(
        [p["latency_ms"] for p in points],
        [100 * p["predicted_accuracy"] for p in points],
        where="post",
        color="0.6",
        lw=1,
        label="predicted front",
    )
    axes.scatter(
        [r["predicted_latency_ms"] for r in rows],
        [100 * r["predicted_accuracy"] for r in rows],
        marker="o",
        s=40,
        label="picks (predicted)",
    )
    axes.scatter(
        [r["measured_latency_ms"] for r in rows],
        [100 * r["measured_accuracy"] for r in rows],
        marker="x",
        s=50,
        label="picks (measured: latency, test top-1)",
    )
    for r in rows:
        axes.axvline(r["budget_ms"], color="0.85", lw=0.8, ls="--")
    axes.set_xlabel("latency on this machine (ms, batch 1)")
    axes.set_ylabel("top-1 (%)")
    axes.set_title("ofa demo: Fashion-MNIST, specialized for 3 latency budgets")
    axes.legend(fontsize=8, loc="lower right")
    save_png(figure, path)
