"""What `--format onnx-int8` is asked to do (torch-free: the CLI builds it while parsing)."""

from __future__ import annotations

from dataclasses import dataclass, field

from onceforall.errors import ExportError
from onceforall.latency.onnx_int8 import Int8Settings


class Int8AccuracyWarning(UserWarning):
    """INT8 top-1 dropped more than the export allows (`Int8Request.max_drop`)."""


@dataclass(frozen=True)
class Int8Request:
    """How `--format onnx-int8` quantizes and checks."""

    settings: Int8Settings = field(default_factory=Int8Settings)
    calibration_images: int = 256  # from the run's BN re-calibration subset of the train split
    test_images: int = 1000  # evaluation images on which float and INT8 top-1 are compared
    max_drop: float = 0.01  # a top-1 drop above this (a fraction: 0.01 = 1 pp) warns

    def __post_init__(self) -> None:
        if self.calibration_images < 1 or self.test_images < 1:
            raise ExportError("INT8 calibration and test image counts must be >= 1")
        if not 0 <= self.max_drop <= 1:
            raise ExportError(f"the INT8 top-1 drop limit must be in [0, 1], got {self.max_drop}")
