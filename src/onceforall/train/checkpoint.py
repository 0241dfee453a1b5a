"""Checkpoints: everything needed to continue a run exactly, written atomically.

A checkpoint is a dict of tensors and plain values, loadable with ``weights_only=True``:
format version, supernet name, classes, the space's choices, the resolved run config, the
position (phase index, steps done in that phase), model/optimizer/teacher states.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from onceforall.atomic_files import atomic_torch_save
from onceforall.errors import CheckpointError

FORMAT = 1
LAST = "last.pt"


@dataclass(frozen=True)
class Position:
    phase_index: int
    step: int  # steps done in that phase
    complete: bool = False  # every phase done


def save_checkpoint(
    directory: Path,
    *,
    supernet: str,
    num_classes: int,
    config: dict[str, Any],
    position: Position,
    model: dict[str, torch.Tensor],
    optimizer: dict[str, Any] | None,
    teacher: dict[str, torch.Tensor] | None,
    extra_name: str | None = None,
) -> Path:
    """Write `last.pt` (and a copy named `extra_name`, e.g. at the end of a phase)."""
    payload = {
        "format": FORMAT,
        "supernet": supernet,
        "num_classes": num_classes,
        "config": config,
        "phase_index": position.phase_index,
        "step": position.step,
        "complete": position.complete,
        "model": model,
        "optimizer": optimizer,
        "teacher": teacher,
    }
    path = directory / LAST
    atomic_torch_save(payload, path)
    if extra_name is not None:
        atomic_torch_save(payload, directory / extra_name)
    return path


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint (a file, or a run directory: its checkpoints/last.pt)."""
    if path.is_dir():
        candidate = path / "checkpoints" / LAST
        if not candidate.is_file():
            raise CheckpointError(f"{path} holds no checkpoint (expected {candidate})")
        path = candidate
    if not path.is_file():
        raise CheckpointError(f"no such checkpoint: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {error}".splitlines()[0]) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an onceforall checkpoint (format {FORMAT})")
    return payload
