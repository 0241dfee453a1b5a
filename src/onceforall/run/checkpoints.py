"""The checkpoints of a run folder: their format, their names, and reading them.

A checkpoint is a dict of tensors and plain values, loadable with ``weights_only=True``:
format version, supernet name, classes, the resolved run config, the position (phase index,
steps done in that phase, whether every phase is done), model/optimizer/teacher states.

    RUN/checkpoints/last.pt              the latest state (a run resumes from it)
    RUN/checkpoints/phase2-kernel.pt     the state at the end of each finished phase

Training writes them (train/checkpoint.py); everything else reads them here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onceforall.errors import CheckpointError
from onceforall.run.layout import CHECKPOINTS
from onceforall.tensor_files import read_tensor_file

FORMAT = 1
LAST = "last.pt"


@dataclass(frozen=True)
class Position:
    phase_index: int
    step: int  # steps done in that phase
    complete: bool = False  # every phase done


def phase_checkpoint_name(phase_index: int, phase_name: str) -> str:
    """`phase2-kernel.pt`: the checkpoint at the end of the phase `phase_index` (0-based)."""
    return f"phase{phase_index + 1}-{phase_name}.pt"


def last_checkpoint(run_dir: Path) -> Path:
    """RUN/checkpoints/last.pt (whether or not it exists)."""
    return run_dir / CHECKPOINTS / LAST


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint (a file, or a run directory: its checkpoints/last.pt)."""
    if path.is_dir():
        candidate = last_checkpoint(path)
        if not candidate.is_file():
            raise CheckpointError(f"{path} holds no checkpoint (expected {candidate})")
        path = candidate
    if not path.is_file():
        raise CheckpointError(f"no such checkpoint: {path}")
    payload = read_tensor_file(path, CheckpointError, "checkpoint")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an onceforall checkpoint (format {FORMAT})")
    return payload


def checkpoint_position(payload: Mapping[str, Any]) -> Position:
    """Where in its schedule a checkpoint stands."""
    return Position(int(payload["phase_index"]), int(payload["step"]), bool(payload["complete"]))
