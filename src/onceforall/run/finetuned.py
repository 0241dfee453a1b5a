"""A fine-tuning's output directory (what `ofa finetune` writes, train/finetune.py): its files,
its settings and its final model, as export and a resumed fine-tuning read them.

    DIR/finetune.yaml        the resolved fine-tuning settings and the source run's config
    DIR/checkpoints/last.pt  resumable state (run/checkpoints.py: student, optimizer, teacher)
    DIR/metrics.jsonl        step losses and per-epoch held-out accuracy
    DIR/accuracy.json        held-out accuracy before and after fine-tuning
    DIR/model.pt             the final model: static weights (BN re-calibrated) and what they are

`model.pt` loads with `torch.load(weights_only=True)`: {"format", "version", "supernet",
"num_classes", "arch", "run_config", "state_dict"} (train/finetune_output.py writes it); `ofa
export DIR` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from onceforall.errors import CheckpointError
from onceforall.tensor_files import read_tensor_file

SETTINGS_FILE = "finetune.yaml"
MODEL_FILE = "model.pt"
ACCURACY_FILE = "accuracy.json"
FORMAT = "onceforall.finetuned"
VERSION = 1


@dataclass(frozen=True, eq=False)
class FinetunedModel:
    supernet: str
    num_classes: int
    arch: str
    run_config: dict[str, Any]  # the source run's resolved config (data, seed, evaluation)
    state_dict: dict[str, torch.Tensor]  # of the supernet's static(arch) module


def is_finetune_dir(path: Path) -> bool:
    return path.is_dir() and (path / SETTINGS_FILE).is_file()


def load_finetuned(directory: Path) -> FinetunedModel:
    """The final model of a finished fine-tuning directory (CheckpointError otherwise)."""
    path = directory / MODEL_FILE
    if not path.is_file():
        raise CheckpointError(
            f"{directory} holds no final model ({MODEL_FILE}): fine-tuning has not finished; "
            "continue it with `ofa finetune ... --resume`"
        )
    payload = read_tensor_file(path, CheckpointError, "fine-tuned model")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an onceforall fine-tuned model")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"{path}: fine-tuned model version {payload.get('version')!r}")
    return FinetunedModel(
        supernet=payload["supernet"],
        num_classes=payload["num_classes"],
        arch=payload["arch"],
        run_config=payload["run_config"],
        state_dict=payload["state_dict"],
    )


def finetuning_settings(directory: Path) -> dict[str, Any]:
    """The "finetune" part of DIR/finetune.yaml: run, arch, epochs, lr, ..."""
    path = directory / SETTINGS_FILE
    try:
        content = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        reason = " ".join(str(error).split())
        raise CheckpointError(f"cannot read {path}: {reason}") from None
    settings = content.get("finetune") if isinstance(content, dict) else None
    if not isinstance(settings, dict) or not {"run", "epochs"} <= set(settings):
        raise CheckpointError(f"{path} is not a fine-tuning's settings (a 'finetune' mapping)")
    return settings
