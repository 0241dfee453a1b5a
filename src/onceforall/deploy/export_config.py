"""What `ofa export` is asked to do: the source, the formats, the tolerances, the timing settings.

Sources (exactly one):
- `source`: a training run directory (its checkpoints/last.pt), one of its checkpoint files
  (e.g. checkpoints/phase2-kernel.pt), or a fine-tuning output directory (`ofa finetune`);
- `reference_checkpoint` + `config`: a state dict in the reference implementation's key layout
  (e.g. the released ofa_mbv3_d234_e346_k357_w1.0), with a run config YAML for the supernet name
  and the data that BN re-calibration, verification and the accuracy measurement use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from onceforall.deploy.int8_config import Int8Request
from onceforall.errors import ExportError
from onceforall.latency.settings import MeasureSettings

Format = Literal["pytorch", "torchscript", "onnx", "onnx-int8"]
FORMATS: tuple[Format, ...] = ("pytorch", "torchscript", "onnx")  # the default; exact formats
ALL_FORMATS: tuple[Format, ...] = (*FORMATS, "onnx-int8")  # INT8 only when asked (deploy/int8.py)


@dataclass(frozen=True)
class Tolerances:
    """Largest accepted |logit difference| of each exported file against PyTorch eval."""

    pytorch: float = 1e-5  # the pickled fx GraphModule, reloaded in a fresh process
    torchscript: float = 1e-5
    onnx: float = 1e-4  # ONNX Runtime fuses BN into convolutions: other rounding

    def __post_init__(self) -> None:
        for name in FORMATS:
            if not getattr(self, name) >= 0:
                raise ExportError(f"the {name} tolerance must be >= 0, got {getattr(self, name)}")

    def of(self, name: Format) -> float:
        return float(getattr(self, name))


def default_measure_settings() -> MeasureSettings:
    """Fewer calls than a latency table needs: a whole network takes milliseconds, not µs."""
    return MeasureSettings(threads=1, warmup=5, repetitions=30, rounds=3)


@dataclass(frozen=True)
class ExportRequest:
    out: Path
    source: Path | None = None
    arch: str | None = None  # compact string; implied by a fine-tuning directory
    formats: tuple[Format, ...] = FORMATS
    reference_checkpoint: Path | None = None
    config: Path | None = None  # run config YAML, with `reference_checkpoint`
    config_overrides: tuple[str, ...] = ()
    tolerances: Tolerances = field(default_factory=Tolerances)
    verify_images: int = 64  # held-out images in the verification batch
    latency_batch_sizes: tuple[int, ...] = (1, 8)
    measure: MeasureSettings = field(default_factory=default_measure_settings)
    int8: Int8Request = field(default_factory=Int8Request)  # with the onnx-int8 format
    # For the card's predicted accuracy / latency; None: the run directory's predictor and
    # latency table when the source is a run directory holding them (run/layout.py).
    predictor: Path | None = None
    latency_table: Path | None = None
    command: str = ""  # the command line, recorded in the model card
    progress: bool = True

    def __post_init__(self) -> None:
        if not self.formats:
            raise ExportError("at least one format is needed")
        unknown = sorted(set(self.formats) - set(ALL_FORMATS))
        if unknown:
            raise ExportError(f"unknown formats {unknown}; known: {', '.join(ALL_FORMATS)}")
        if (self.source is None) == (self.reference_checkpoint is None):
            raise ExportError("give either a run directory or --checkpoint (with --config)")
        if self.reference_checkpoint is not None and self.config is None:
            raise ExportError("--checkpoint needs --config: the run config that names the data")
        if self.source is not None and (self.config is not None or self.config_overrides):
            raise ExportError("--config and --set go with --checkpoint; a run has its config")
        if self.verify_images < 1:
            raise ExportError(f"verify_images must be >= 1, got {self.verify_images}")
        if not self.latency_batch_sizes or min(self.latency_batch_sizes) < 1:
            raise ExportError(f"latency batch sizes must be >= 1, got {self.latency_batch_sizes}")
