"""metrics.jsonl (one JSON object per line, appended) and the panel plot of a run."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any


class MetricsLog:
    """Appends events to RUN/metrics.jsonl; a no-op on ranks other than 0."""

    def __init__(self, path: Path, enabled: bool = True) -> None:
        self.path = path
        self.enabled = enabled

    def write(self, event: str, **fields: Any) -> None:
        if not self.enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"event": event, "time": round(time.time(), 3), **fields}
        with self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def read(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        events = []
        for line in self.path.read_text().splitlines():
            line = line.strip()
            if line:
                try:
                    events.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a line cut by a crash: skip it
        return events


def plot_panel(events: list[dict[str, Any]], path: Path) -> None:
    """Held-out accuracy of the panel sub-networks at the end of each phase (PNG, atomic)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    evals = [e for e in events if e.get("event") == "panel"]
    if not evals:
        return
    phases: list[str] = []
    for e in evals:
        if e["phase"] not in phases:
            phases.append(e["phase"])
    figure, axis = plt.subplots(figsize=(7, 4.5))
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
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.tmp.png")
    figure.savefig(temporary, dpi=120)
    plt.close(figure)
    os.replace(temporary, path)
