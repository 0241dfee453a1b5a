"""Latency of an exported sub-network on this machine, per backend and batch size.

Backends: `pytorch` (the fx GraphModule, eager; always measured, it is the baseline), and for
the formats exported, `torchscript` (the saved .torchscript.pt, reloaded), `onnxruntime` (the
saved .onnx, CPU provider) and `onnxruntime-int8` (the saved .int8.onnx, same session settings).
The timing itself is latency/measure.py's: warm-up, then interleaved rounds in a
seeded random order, so that machine noise spreads over all backends.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from onceforall.deploy.export_config import Format
from onceforall.deploy.formats import load_torchscript
from onceforall.latency.measure import (
    MeasureSettings,
    Runner,
    make_runner,
    onnxruntime_runner,
    time_runners,
)

INPUT_SEED = 0  # the random input images (values do not change the work done)


@dataclass(frozen=True)
class MeasuredLatency:
    backend: str
    batch_size: int
    median_ms: float
    iqr_ms: float
    min_ms: float
    calls: int


def _runners(
    module: torch.nn.Module,
    files: Mapping[Format, Path],
    input_shape: tuple[int, int, int],
    settings: MeasureSettings,
) -> dict[str, Runner]:
    runners = {"pytorch": make_runner(module, input_shape, settings, INPUT_SEED)}
    if "torchscript" in files:
        scripted = load_torchscript(files["torchscript"])
        runners["torchscript"] = make_runner(scripted, input_shape, settings, INPUT_SEED)
    generator = torch.Generator().manual_seed(INPUT_SEED)
    example = torch.randn((settings.batch_size, *input_shape), generator=generator)
    onnx_backends: tuple[tuple[Format, str], ...] = (
        ("onnx", "onnxruntime"),
        ("onnx-int8", "onnxruntime-int8"),
    )
    for name, backend in onnx_backends:
        if name in files:
            runners[backend] = onnxruntime_runner(str(files[name]), example, settings.threads)
    return runners


def measure_exported(
    module: torch.nn.Module,
    files: Mapping[Format, Path],
    resolution: int,
    batch_sizes: tuple[int, ...],
    settings: MeasureSettings,
    *,
    progress: bool = True,
) -> tuple[MeasuredLatency, ...]:
    """Median / interquartile range / minimum (ms per call) of every backend at every batch."""
    input_shape = (3, resolution, resolution)
    backends = 1 + len(set(files) & {"torchscript", "onnx", "onnx-int8"})
    rows: list[MeasuredLatency] = []
    with tqdm(
        total=len(batch_sizes) * backends * settings.rounds,
        desc="latency",
        disable=not progress,
        leave=False,
    ) as bar:
        for batch_size in batch_sizes:
            batch_settings = dataclasses.replace(settings, backend="torch", batch_size=batch_size)
            runners = _runners(module, files, input_shape, batch_settings)
            rng = np.random.default_rng([settings.seed, batch_size])
            timings = time_runners(list(runners.values()), batch_settings, rng, bar.update)
            rows += [
                MeasuredLatency(
                    backend=name,
                    batch_size=batch_size,
                    median_ms=t.median_ms,
                    iqr_ms=t.iqr_ms,
                    min_ms=t.min_ms,
                    calls=t.count,
                )
                for name, t in zip(runners, timings, strict=True)
            ]
    return tuple(rows)
