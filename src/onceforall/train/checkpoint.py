"""Writing checkpoints while training: everything needed to continue a run exactly, atomically.

The format, the file names and reading a checkpoint back are the run folder's
(run/checkpoints.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch

from onceforall.atomic_files import atomic_torch_save, atomic_write
from onceforall.run.checkpoints import FORMAT, LAST, Position, phase_checkpoint_name


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
