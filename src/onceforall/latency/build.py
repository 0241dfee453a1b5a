"""Build a latency table: time every distinct operator of a supernet's space on this machine.

Operators are deduplicated over slots and resolutions, shuffled with a seeded generator, and timed
in chunks (interleaved rounds inside a chunk, see measure.py). The table file is rewritten
atomically after every chunk; running the same build again skips what is already measured.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from onceforall.arch.space import Space
from onceforall.atomic_files import check_output_folder
from onceforall.errors import LatencyTableError
from onceforall.families.operators import Operator, operator_key
from onceforall.families.registry import family_of
from onceforall.latency.measure import (
    MeasureSettings,
    backend_versions,
    machine_description,
    make_runner,
    time_runners,
)
from onceforall.latency.onnx_int8 import Int8Settings
from onceforall.latency.table import (
    STATISTICS,
    LatencyTable,
    OperatorTiming,
    check_same_measurement,
    layout_digest,
    read_table,
    save_table,
)
from onceforall.models.registry import supernet_space


@dataclass(frozen=True)
class BuildConfig:
    """What to measure (a supernet's space, optionally restricted) and how."""

    supernet: str
    out: Path
    settings: MeasureSettings = field(default_factory=MeasureSettings)
    num_classes: int | None = None
    resolutions: tuple[int, ...] | None = None
    kernel_sizes: tuple[int, ...] | None = None
    expand_ratios: tuple[float, ...] | None = None
    statistic: str = "min"  # what predictions use: each operator's "min" or "median" time
    chunk_size: int = 256  # operators timed together (interleaved), then saved
    progress: bool = True


@dataclass(frozen=True)
class BuildResult:
    path: Path
    table: LatencyTable
    operators: int  # distinct operators of the space
    measured: int  # timed by this run
    reused: int  # found in the existing file
    seconds: float


def build_space(config: BuildConfig) -> Space[Any]:
    space = supernet_space(config.supernet, config.num_classes)
    family = family_of(space)
    asked = {"kernel_sizes": config.kernel_sizes, "expand_ratios": config.expand_ratios}
    choices = {name: values for name, values in asked.items() if values is not None}
    unknown = sorted(set(choices) - set(family.latency_choices))
    if unknown:
        raise LatencyTableError(
            f"{config.supernet} has no {', '.join(unknown)} choice; its latency choices are "
            f"{', '.join(family.latency_choices)}"
        )
    if config.resolutions is not None:
        choices["resolutions"] = config.resolutions
    return space.restrict_choices(choices)


def space_operators(space: Space[Any]) -> list[Operator]:
    """Every distinct operator of the space over all its resolutions, in network order."""
    family = family_of(space)
    seen: dict[Operator, None] = {}
    for resolution in space.resolutions:
        seen.update(dict.fromkeys(family.operator_grid(space, resolution).operators()))
    return list(seen)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def table_metadata(config: BuildConfig, space: Space[Any]) -> dict[str, Any]:
    settings = config.settings
    return {
        "supernet": config.supernet,
        "num_classes": space.describe()["num_classes"],
        "layout_digest": layout_digest(space),
        **family_of(space).latency_choice_values(space),
        "resolutions": list(space.resolutions),
        "backend": settings.backend,
        "threads": settings.threads,
        "batch_size": settings.batch_size,
        "warmup": settings.warmup,
        "repetitions": settings.repetitions,
        "rounds": settings.rounds,
        "seed": settings.seed,
        "statistic": config.statistic,
        **(
            {"quantization": Int8Settings().to_json()}
            if settings.backend == "onnxruntime-int8"
            else {}
        ),
        "versions": backend_versions(settings.backend),
        "machine": machine_description(),
        "created": _now(),
        "updated": _now(),
    }


def _merged_metadata(
    existing: dict[str, Any], wanted: dict[str, Any], choices: tuple[str, ...]
) -> dict[str, Any]:
    merged = dict(wanted, created=existing.get("created", wanted["created"]))
    for name in (*choices, "resolutions"):
        merged[name] = sorted(set(existing.get(name, ())) | set(wanted[name]))
    return merged


def build_latency_table(config: BuildConfig) -> BuildResult:
    """Measure the operators of the space not yet in `config.out`, saving after every chunk."""
    started = time.perf_counter()
    if config.chunk_size < 1:
        raise LatencyTableError(f"chunk_size must be at least 1, got {config.chunk_size}")
    if config.statistic not in STATISTICS:
        raise LatencyTableError(f"statistic {config.statistic!r} is not one of {STATISTICS}")
    check_output_folder(config.out.parent, LatencyTableError)  # before any measurement
    space = build_space(config)
    metadata = table_metadata(config, space)
    entries: dict[str, OperatorTiming] = {}
    if config.out.exists():
        existing = read_table(config.out)
        check_same_measurement(config.out, existing.metadata, metadata)
        metadata = _merged_metadata(
            dict(existing.metadata), metadata, family_of(space).latency_choices
        )
        entries.update(existing.entries)
    operators = space_operators(space)
    rng = np.random.default_rng([config.settings.seed, 0])
    todo = [op for op in operators if operator_key(op) not in entries]
    todo = [todo[i] for i in rng.permutation(len(todo))]
    if not todo:  # everything measured already: leave the file (and its correction) alone
        table = read_table(config.out)
        seconds = time.perf_counter() - started
        return BuildResult(config.out, table, len(operators), 0, len(operators), seconds)
    table = LatencyTable(metadata, entries)
    # One step per operator prepared (module, export) and per operator timed in each round.
    steps = config.settings.rounds + 1
    with tqdm(
        total=len(operators) * steps,
        initial=(len(operators) - len(todo)) * steps,
        desc=f"latency table ({config.settings.backend}, {len(operators)} operators)",
        unit="step",
        disable=not config.progress,
    ) as progress:
        for start in range(0, len(todo), config.chunk_size):
            chunk = todo[start : start + config.chunk_size]
            runners = []
            for offset, op in enumerate(chunk):
                module, shape = family_of(space).operator_torch_module(op, space.layout)
                seed = config.settings.seed * 1_000_003 + start + offset
                runners.append(make_runner(module, shape, config.settings, seed))
                progress.update(1)
            timings = time_runners(runners, config.settings, rng, lambda: progress.update(1))
            entries.update((operator_key(op), t) for op, t in zip(chunk, timings, strict=True))
            metadata["updated"] = _now()
            # New operators invalidate a correction fitted on the old ones.
            table = LatencyTable(metadata, entries, None)
            save_table(config.out, table)
    seconds = time.perf_counter() - started
    return BuildResult(
        config.out, table, len(operators), len(todo), len(operators) - len(todo), seconds
    )
