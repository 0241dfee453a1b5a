"""Settings of predictor fitting (torch-free, so the CLI parses fast); see predict/fit.py."""

from __future__ import annotations

from dataclasses import dataclass

from onceforall.errors import PredictorError


@dataclass(frozen=True)
class FitConfig:
    hidden_sizes: tuple[int, ...] = (400, 400, 400)  # the paper's 3 hidden layers of 400
    max_epochs: int = 300
    batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    validation_fraction: float = 0.1
    patience: int = 30
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.hidden_sizes or min(self.hidden_sizes) < 1:
            raise PredictorError(f"hidden_sizes must be positive, got {self.hidden_sizes}")
        for name in ("max_epochs", "batch_size", "patience"):
            if getattr(self, name) < 1:
                raise PredictorError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0.0 < self.validation_fraction < 1.0:
            raise PredictorError(
                f"validation_fraction must be in (0, 1), got {self.validation_fraction}"
            )
        if self.learning_rate <= 0 or self.weight_decay < 0:
            raise PredictorError("learning_rate must be > 0 and weight_decay >= 0")
