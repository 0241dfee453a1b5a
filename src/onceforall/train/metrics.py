"""metrics.jsonl (one JSON object per line, appended) and the panel plot of a run."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from onceforall.atomic_files import atomic_write, atomic_write_text


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

    def keep_until(self, phase_index: int, step: int, phase_names: list[str]) -> int:
        """Drop the events after position (`phase_index`, `step`), e.g. when a run resumes there.

        The events of steps past the position, and the panel of phases not finished before it,
        were written by a process that stopped before its next checkpoint; the resumed run writes
        them again. Rewrites the file atomically; the number of events dropped.
        """
        if not self.enabled or not self.path.is_file():
            return 0
        events = self.read()
        kept = [e for e in events if not _after(e, phase_index, step, phase_names)]
        raw = self.path.read_text()
        if len(kept) != len(events) or not (raw == "" or raw.endswith("\n")):
            text = "".join(json.dumps(event) + "\n" for event in kept)
            atomic_write_text(self.path, text)
        return len(events) - len(kept)

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


def _after(event: dict[str, Any], phase_index: int, step: int, phase_names: list[str]) -> bool:
    """Whether `event` happened after the position (phase_index, step)."""
    index = event.get("phase_index")
    if index is None and event.get("phase") in phase_names:
        index = phase_names.index(event["phase"])
    if not isinstance(index, int):
        return False  # not tied to a phase
    if "step" in event:  # step and curve events: written at a step of their phase
        return index > phase_index or (index == phase_index and int(event["step"]) > step)
    return index >= phase_index  # end-of-phase events (panel, rank_sync)


def plot_panel(events: list[dict[str, Any]], path: Path) -> bool:
    """Held-out accuracy of the panel sub-networks at the end of each phase (PNG, atomic).

    Needs matplotlib (the `plots` extra): without it the plot is skipped, with a note once.
    Whether the plot was written.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        _note_once(f"note: matplotlib is not installed (the plots extra); {path.name} skipped")
        return False
    evals = [e for e in events if e.get("event") == "panel"]
    if not evals:
        return False
    phases: list[str] = []
    for e in evals:
        if e["phase"] not in phases:
            phases.append(e["phase"])
    figure = Figure(figsize=(7, 4.5), dpi=120)
    FigureCanvasAgg(figure)
    axis = figure.subplots()
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
    atomic_write(path, lambda temporary: figure.savefig(temporary, format="png"))
    return True


_NOTES_GIVEN: set[str] = set()


def _note_once(message: str) -> None:
    if message not in _NOTES_GIVEN:
        _NOTES_GIVEN.add(message)
        print(message, file=sys.stderr)
