"""What `ofa finetune` is asked to do, and the settings it resolves from the source run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from onceforall.errors import ConfigError
from onceforall.run.config import RunConfig

# Streams of the fine-tuning's randomness, apart from the training run's (whose phases use
# indices 0.. and epochs phase * 100000 + epoch): dropout seeds and loader epochs.
FINETUNE_PHASE_INDEX = 1000
FINETUNE_EPOCH_OFFSET = 900_000


@dataclass(frozen=True)
class FinetuneConfig:
    """Fine-tune `arch` of the supernet trained in `run` for `epochs` epochs.

    `lr`: the peak rate per `training.base_batch_size` images (cosine decay to zero, after
    `warmup_epochs` of linear warm-up); None takes the rate of the run's last phase. `distill`:
    soft targets from the supernet's largest sub-network, weighted by the run's kd_ratio.
    """

    run: str
    arch: str
    epochs: int
    lr: float | None = None
    warmup_epochs: float = 0.0
    distill: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise ConfigError(f"epochs must be a positive integer, got {self.epochs!r}")
        if self.lr is not None and not self.lr > 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")
        if not 0 <= self.warmup_epochs <= self.epochs:
            raise ConfigError(f"warmup_epochs must be within 0..epochs, got {self.warmup_epochs}")

    def peak_lr(self, run_config: RunConfig) -> float:
        """The rate per base batch: `lr`, or the run's last phase's."""
        return self.lr if self.lr is not None else run_config.phases[-1].lr

    def resolved(self, run_config: RunConfig, supernet: str, num_classes: int) -> dict[str, Any]:
        """What finetune.yaml and the checkpoints record (and a resume must match)."""
        return {
            "finetune": {
                "run": self.run,
                "arch": self.arch,
                "epochs": self.epochs,
                "lr": self.peak_lr(run_config),
                "warmup_epochs": self.warmup_epochs,
                "distill": self.distill,
                "supernet": supernet,
                "num_classes": num_classes,
            },
            "run": run_config.to_dict(),
        }
