"""Stopping cleanly on SIGINT/SIGTERM: the signal is noted, the loop saves a checkpoint at the
next step boundary and stops with `TrainingInterrupted`."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from onceforall.errors import OnceForAllError


class TrainingInterrupted(OnceForAllError):
    """Stopped by a signal after saving a checkpoint."""

    exit_code = 130


def interrupted(where: str, checkpoints: Path) -> TrainingInterrupted:
    """The error for a stop `where` ("at step 12", ...), its checkpoint saved in `checkpoints`."""
    return TrainingInterrupted(
        f"interrupted {where}; checkpoint saved in {checkpoints}; continue with --resume"
    )


@contextlib.contextmanager
def stop_requests() -> Iterator[list[int]]:
    """Collects SIGINT/SIGTERM (in the main thread) instead of dying mid-step."""
    received: list[int] = []
    try:
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: leave signals alone
        yield received
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    try:
        for s in previous:
            signal.signal(s, handler)
        yield received
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
