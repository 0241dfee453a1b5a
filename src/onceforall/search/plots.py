"""The Pareto front as a PNG: every front point, its accuracy against its cost."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from onceforall.predict.report import have_matplotlib, new_axes, save_png
from onceforall.search.pareto import ParetoFront

LABELS = {"latency_ms": "latency (ms)", "macs": "MMACs", "params": "parameters (M)"}
SCALE = {"latency_ms": 1.0, "macs": 1e-6, "params": 1e-6}


def plot_front(path: Path, front: ParetoFront, title: str) -> bool:
    """Write the plot; False (nothing written) when matplotlib is not installed."""
    if not have_matplotlib() or not front.points:
        return False
    cost = np.array([getattr(p, front.objective) for p in front.points], dtype=float)
    cost *= SCALE[front.objective]
    accuracy = 100.0 * np.array([p.predicted_accuracy for p in front.points])
    figure, axes = new_axes(6, 4)
    axes.step(cost, accuracy, where="post", color="0.7", lw=1)
    axes.scatter(cost, accuracy, s=10)
    axes.set_xlabel(LABELS[front.objective])
    axes.set_ylabel("predicted top-1 (%)")
    axes.set_title(f"{title} ({len(front.points)} points)", fontsize=9)
    axes.grid(alpha=0.3)
    save_png(figure, path)
    return True
