"""A trained supernet, as a run directory or checkpoint file holds it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from onceforall.errors import CheckpointError
from onceforall.models.registry import create_supernet
from onceforall.models.supernet import Supernet
from onceforall.run.checkpoints import load_checkpoint
from onceforall.run.config import RunConfig, run_config_from_dict


def with_run_resolutions(net: Supernet[Any], config: RunConfig) -> Supernet[Any]:
    """`net` with the resolutions the run trained at (`training.resolutions`), if it set them."""
    if config.training.resolutions is not None:
        net.space = net.space.with_resolutions(config.training.resolutions)
    return net


def load_trained_supernet(path: Path) -> tuple[Supernet[Any], RunConfig, dict[str, Any]]:
    """The supernet of a training run (a directory or a checkpoint file) in eval mode, with the
    run's dropout and resolutions; the run's config; the checkpoint."""
    payload = load_checkpoint(path)
    if "finetune" in payload["config"]:
        raise CheckpointError(
            f"{path} is a fine-tuning checkpoint, not a supernet's; a fine-tuning is exported by "
            "its directory (the one with finetune.yaml)"
        )
    config = run_config_from_dict(payload["config"])
    net = create_supernet(
        payload["supernet"], payload["num_classes"], dropout=config.training.dropout
    )
    net.load_state_dict(payload["model"])
    return with_run_resolutions(net, config).eval(), config, payload


def load_run(run_dir: Path) -> tuple[RunConfig, dict[str, Any]]:
    """The config and checkpoint of a run directory."""
    payload = load_checkpoint(run_dir)
    return run_config_from_dict(payload["config"]), payload
