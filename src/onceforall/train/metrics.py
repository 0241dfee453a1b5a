"""metrics.jsonl: one JSON object per line, appended (the panel plot of a run: plots.py)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from onceforall.atomic_files import atomic_write_text


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
