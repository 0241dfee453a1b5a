"""Where an exported sub-network comes from: a run, a fine-tuning directory, a reference checkpoint.

Each source gives a supernet (weights loaded, CPU, eval mode), the run config whose data set
supplies calibration, verification and test images, and a description of the training state; a
fine-tuning directory also fixes the arch and supplies the fine-tuned static weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from onceforall.errors import ArchError, CheckpointError, ExportError
from onceforall.models.registry import create_supernet
from onceforall.models.supernet import Supernet
from onceforall.run.config import RunConfig, load_run_config, run_config_from_dict
from onceforall.run.datasets import RunData, build_run_data
from onceforall.run.finetuned import finetuning_settings, is_finetune_dir, load_finetuned
from onceforall.run.trained import load_trained_supernet, with_run_resolutions
from onceforall.tensor_files import read_tensor_file


@dataclass(frozen=True, eq=False)
class SubnetSource:
    kind: str  # "supernet run", "fine-tuned sub-network" or "reference checkpoint"
    location: str  # the path it was read from
    supernet: Supernet[Any]  # its space carries the run's resolutions
    config: RunConfig
    data: RunData
    checkpoint: str  # which training state, in words
    fixed_arch: Any | None = None  # the fine-tuned arch
    run_directory: Path | None = None  # the training run's folder, when the source is one
    weights: Mapping[str, torch.Tensor] | None = None  # fine-tuned static weights

    @property
    def num_classes(self) -> int:
        return int(self.supernet.space.describe()["num_classes"])

    def resolve_arch(self, text: str | None) -> Any:
        """The arch to export: parsed from `text` and checked against the run's space."""
        if self.fixed_arch is not None:
            if text is not None and self.supernet.space.parse(text) != self.fixed_arch:
                raise ArchError(
                    f"{self.location} was fine-tuned for {self.fixed_arch}, not {text}; "
                    "leave out --arch"
                )
            return self.fixed_arch
        if text is None:
            raise ArchError("--arch is required (the sub-network to export)")
        arch = self.supernet.space.parse(text)
        self.supernet.space.validate(arch)
        return arch

    def network(self, arch: Any) -> torch.fx.GraphModule:
        """The sub-network as stock modules (eval mode), fine-tuned weights loaded if any."""
        module = self.supernet.export(arch)
        if self.weights is not None:
            module.load_state_dict(dict(self.weights))
        return module


def open_source(
    source: Path | None,
    reference_checkpoint: Path | None = None,
    config: Path | None = None,
    overrides: tuple[str, ...] = (),
) -> SubnetSource:
    if source is not None:
        return open_finetuned(source) if is_finetune_dir(source) else open_run(source)
    if reference_checkpoint is None or config is None:
        raise ExportError("a reference checkpoint needs a run config (--config)")
    return open_reference(reference_checkpoint, config, overrides)


def describe_position(config: RunConfig, payload: Mapping[str, Any]) -> str:
    phases = [phase.name for phase in config.phases]
    index, step = int(payload["phase_index"]), int(payload["step"])
    if payload["complete"]:
        return f"complete: {len(phases)}/{len(phases)} phases (last: {phases[-1]})"
    if step == 0 and index > 0:
        return f"after phase {index}/{len(phases)} ({phases[index - 1]})"
    return f"in phase {index + 1}/{len(phases)} ({phases[index]}) at step {step}"


def open_run(path: Path) -> SubnetSource:
    """A training run directory or one of its checkpoint files."""
    net, config, payload = load_trained_supernet(path)
    return SubnetSource(
        kind="supernet run",
        location=str(path.absolute()),
        supernet=net.eval(),
        config=config,
        data=build_run_data(config.data, config.seed),
        checkpoint=describe_position(config, payload),
        run_directory=path if path.is_dir() else None,
    )


def open_finetuned(directory: Path) -> SubnetSource:
    settings = finetuning_settings(directory)
    model = load_finetuned(directory)
    run = Path(settings["run"])
    config = run_config_from_dict(model.run_config)
    net = with_run_resolutions(
        create_supernet(model.supernet, model.num_classes, dropout=0.0).eval(), config
    )
    return SubnetSource(
        kind="fine-tuned sub-network",
        location=str(directory.absolute()),
        supernet=net,
        config=config,
        data=build_run_data(config.data, config.seed),
        checkpoint=f"fine-tuned for {settings['epochs']} epochs from {run}",
        fixed_arch=net.space.parse(model.arch),
        weights=model.state_dict,
        run_directory=run if run.is_dir() else None,  # for its predictor and latency table
    )


def read_reference_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A reference checkpoint: a state dict, or a dict holding one under "state_dict"."""
    if not path.is_file():
        raise CheckpointError(f"no such checkpoint: {path}")
    payload = read_tensor_file(path, CheckpointError, "checkpoint")
    if isinstance(payload, dict) and isinstance(payload.get("state_dict"), dict):
        payload = payload["state_dict"]
    if not isinstance(payload, dict) or not all(
        isinstance(v, torch.Tensor) for v in payload.values()
    ):
        raise CheckpointError(f"{path} holds no state dict (a mapping of names to tensors)")
    return payload


def open_reference(path: Path, config_path: Path, overrides: tuple[str, ...]) -> SubnetSource:
    """Weights in the reference's key layout; the run config names the supernet and the data."""
    config = load_run_config(config_path, list(overrides))
    data = build_run_data(config.data, config.seed)
    net = create_supernet(config.supernet, config.num_classes or data.num_classes, dropout=0.0)
    net.load_reference_state_dict(read_reference_state_dict(path))
    return SubnetSource(
        kind="reference checkpoint",
        location=str(path.absolute()),
        supernet=with_run_resolutions(net.eval(), config),
        config=config,
        data=data,
        checkpoint=f"reference weights ({path.name})",
    )
