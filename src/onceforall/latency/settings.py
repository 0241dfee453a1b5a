"""How latency is timed: backend, threads, batch, calls (torch-free, so the CLI parses fast)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from onceforall.errors import LatencyTableError
from onceforall.optional_extras import require

# onnxruntime-int8: each module exported to ONNX and statically quantized (latency/onnx_int8.py)
# before it is timed in ONNX Runtime, so a table holds the operators as the INT8 model runs them.
Backend = Literal["torch", "onnxruntime", "onnxruntime-int8"]
BACKENDS: tuple[Backend, ...] = ("torch", "onnxruntime", "onnxruntime-int8")


@dataclass(frozen=True)
class MeasureSettings:
    """How to time: backend, threads, batch size, warm-up calls, timed calls and their rounds."""

    backend: Backend = "torch"
    threads: int = 1
    batch_size: int = 1
    warmup: int = 10
    repetitions: int = 50
    rounds: int = 0  # 0: the backend's default (see latency/measure.py)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise LatencyTableError(f"backend {self.backend!r} is not one of {BACKENDS}")
        if self.backend != "torch":
            require(
                ("onnx", "onnxruntime"), f"the {self.backend} backend", "deploy", LatencyTableError
            )
        if self.rounds == 0:
            default = self.repetitions if self.backend == "torch" else 5
            object.__setattr__(self, "rounds", max(1, min(default, self.repetitions)))
        for name in ("threads", "batch_size", "repetitions", "rounds"):
            if getattr(self, name) < 1:
                raise LatencyTableError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.warmup < 0:
            raise LatencyTableError(f"warmup must be >= 0, got {self.warmup}")
        if self.rounds > self.repetitions:
            raise LatencyTableError(
                f"rounds ({self.rounds}) cannot exceed repetitions ({self.repetitions})"
            )
