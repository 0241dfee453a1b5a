"""Writing a fine-tuning's final model (DIR/model.pt; the directory's files: run/finetuned.py)."""

from __future__ import annotations

from pathlib import Path

from onceforall.atomic_files import atomic_torch_save
from onceforall.run.finetuned import FORMAT, MODEL_FILE, VERSION, FinetunedModel


def save_finetuned(directory: Path, model: FinetunedModel) -> Path:
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "supernet": model.supernet,
        "num_classes": model.num_classes,
        "arch": model.arch,
        "run_config": model.run_config,
        "state_dict": model.state_dict,
    }
    path = directory / MODEL_FILE
    atomic_torch_save(payload, path)
    return path
