"""Checkpoints: everything needed to continue a run exactly, written atomically.

A checkpoint is a dict of tensors and plain values, loadable with ``weights_only=True``:
format version, supernet name, classes, the space's choices, the resolved run config, the
position (phase index, steps done in that phase), model/optimizer/teacher states.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from onceforall.atomic_files import atomic_torch_save, atomic_write
from onceforall.errors import CheckpointError
from onceforall.tensor_files import read_tensor_file

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
    """Write `last.pt` (and first a copy named `extra_name`, e.g. at the end of a phase).

    The copy is written before `last.pt` moves past it: a process killed between the two writes
    resumes from the older `last.pt` and writes both again, so no phase checkpoint is lost.
    """
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
    if extra_name is not None:
        atomic_torch_save(payload, directory / extra_name)
    atomic_torch_save(payload, path)
    return path


def phase_checkpoint_name(phase_index: int, phase_name: str) -> str:
    """`phase2-kernel.pt`: the checkpoint at the end of the phase `phase_index` (0-based)."""
    return f"phase{phase_index + 1}-{phase_name}.pt"


def restore_phase_checkpoint(directory: Path, position: Position, phase_names: list[str]) -> bool:
    """Rebuild the checkpoint of the phase just finished from `last.pt` if it is missing.

    At a phase boundary (step 0 of the next phase) `last.pt` holds exactly what the phase
    checkpoint holds (runs written before phase files came first could lack it). Whether it was
    rebuilt.
    """
    if position.step != 0 or position.phase_index == 0:
        return False
    index = position.phase_index - 1
    if index >= len(phase_names):
        return False
    target = directory / phase_checkpoint_name(index, phase_names[index])
    if target.is_file():
        return False
    source = directory / LAST
    atomic_write(target, lambda temporary: shutil.copyfile(source, temporary))
    return True


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint (a file, or a run directory: its checkpoints/last.pt)."""
    if path.is_dir():
        candidate = path / "checkpoints" / LAST
        if not candidate.is_file():
            raise CheckpointError(f"{path} holds no checkpoint (expected {candidate})")
        path = candidate
    if not path.is_file():
        raise CheckpointError(f"no such checkpoint: {path}")
    payload = read_tensor_file(path, CheckpointError, "checkpoint")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an onceforall checkpoint (format {FORMAT})")
    return payload
