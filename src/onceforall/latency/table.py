"""Our latency table file: JSON with measurement metadata and one entry per distinct operator.

    {"format": "onceforall-latency-table", "version": 1,
     "metadata": {supernet, num_classes, layout_digest, kernel_sizes, expand_ratios, resolutions,
                  backend, threads, batch_size, warmup, repetitions, rounds, seed, statistic,
                  versions, machine, created, updated},
     "entries": {operator key: {"median_ms", "iqr_ms", "min_ms", "count"}},
     "correction": null or {"offset_ms", "scale", "per_block_ms"}}

Written atomically (temp file + rename) after every measured chunk, so an interrupted build leaves a
valid partial table that `build` resumes. A table predicts only resolutions whose operators are all
measured; loading it for a space of another layout is an error.

Predictions use each operator's minimum time by default (`statistic`): on a shared machine other
processes only ever add time, so the minimum of many runs is the most repeatable estimate of the
undisturbed latency; the median is kept and can be chosen instead.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onceforall.arch.space import Space
from onceforall.atomic_files import atomic_write_json
from onceforall.errors import LatencyTableError
from onceforall.families.operators import operator_key
from onceforall.families.registry import family_of
from onceforall.latency.model import LatencyCorrection, LatencyModel, ResolutionTable

FORMAT = "onceforall-latency-table"
VERSION = 1

# Metadata that must agree for two measurements to belong to one table (checked on resume).
IDENTITY_FIELDS = (
    "supernet",
    "num_classes",
    "layout_digest",
    "backend",
    "threads",
    "batch_size",
    "warmup",
    "repetitions",
    "rounds",
    "versions",
    "machine",
)


@dataclass(frozen=True)
class OperatorTiming:
    """Latency statistics of one operator (or one network), in milliseconds."""

    median_ms: float
    iqr_ms: float
    min_ms: float
    count: int

    def to_json(self) -> dict[str, float | int]:
        return {
            "median_ms": self.median_ms,
            "iqr_ms": self.iqr_ms,
            "min_ms": self.min_ms,
            "count": self.count,
        }

    @classmethod
    def from_json(cls, obj: Any, where: str) -> OperatorTiming:
        try:
            timing = cls(
                float(obj["median_ms"]),
                float(obj["iqr_ms"]),
                float(obj["min_ms"]),
                int(obj["count"]),
            )
        except (KeyError, TypeError, ValueError, OverflowError):
            raise LatencyTableError(
                f"{where}: an entry needs numeric median_ms, iqr_ms, min_ms and count"
            ) from None
        times = (timing.median_ms, timing.iqr_ms, timing.min_ms)
        if not all(math.isfinite(t) and t >= 0 for t in times) or timing.count < 1:
            raise LatencyTableError(
                f"{where}: times must be finite and >= 0 and count >= 1, got {timing.to_json()}"
            )
        return timing


@dataclass(frozen=True)
class LatencyTable:
    metadata: Mapping[str, Any]
    entries: Mapping[str, OperatorTiming] = field(default_factory=dict)
    correction: LatencyCorrection | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "metadata": dict(self.metadata),
            "entries": {key: self.entries[key].to_json() for key in sorted(self.entries)},
            "correction": None if self.correction is None else self.correction.to_json(),
        }


def layout_digest(space: Space[Any]) -> str:
    """A short fingerprint of everything that shapes the operators (the layout's frozen repr)."""
    return hashlib.sha256(repr(space.layout).encode()).hexdigest()[:16]


def save_table(path: Path, table: LatencyTable) -> None:
    atomic_write_json(path, table.to_json())


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise LatencyTableError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LatencyTableError(f"cannot read {path}: {error}") from None


def read_table(path: Path) -> LatencyTable:
    obj = read_json(path)
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise LatencyTableError(f"{path} is not an onceforall latency table (format {FORMAT!r})")
    if obj.get("version") != VERSION:
        raise LatencyTableError(f"{path}: unsupported table version {obj.get('version')!r}")
    metadata, entries = obj.get("metadata"), obj.get("entries")
    if not isinstance(metadata, dict) or not isinstance(entries, dict):
        raise LatencyTableError(f"{path}: 'metadata' and 'entries' must be JSON objects")
    missing = [name for name in IDENTITY_FIELDS if name not in metadata]
    if missing:
        raise LatencyTableError(f"{path}: metadata lacks {', '.join(missing)}")
    correction = obj.get("correction")
    return LatencyTable(
        metadata,
        {str(k): OperatorTiming.from_json(v, f"{path} [{k}]") for k, v in entries.items()},
        None if correction is None else LatencyCorrection.from_json(correction),
    )


def check_same_measurement(
    path: Path, existing: Mapping[str, Any], wanted: Mapping[str, Any]
) -> None:
    """Resuming is only allowed into a table measured the same way on the same machine."""
    differing = [name for name in IDENTITY_FIELDS if existing.get(name) != wanted.get(name)]
    if differing:
        name = differing[0]
        raise LatencyTableError(
            f"{path} was measured with {name}={existing.get(name)!r}, not {wanted.get(name)!r}; "
            f"choose another --out or delete it to start over"
        )


STATISTICS = ("min", "median")


def table_statistic(table: LatencyTable, statistic: str | None = None) -> str:
    """The statistic a table predicts with: `statistic`, else the table's own (default min)."""
    chosen = statistic or table.metadata.get("statistic", "min")
    if chosen not in STATISTICS:
        raise LatencyTableError(f"statistic {chosen!r} is not one of {STATISTICS}")
    return str(chosen)


def table_model(
    path: Path, table: LatencyTable, space: Space[Any], statistic: str | None = None
) -> LatencyModel:
    """A LatencyModel for `space` from a table measured for the same layout.

    `statistic` ("min" or "median" of each operator's timings) defaults to the table's own. The
    table's correction is applied only with the statistic it was fitted for.
    """
    metadata = table.metadata
    chosen = table_statistic(table, statistic)
    family = family_of(space)
    classes = space.num_classes  # type: ignore[attr-defined]
    if metadata["num_classes"] != classes:
        raise LatencyTableError(
            f"{path} was measured for {metadata['supernet']} with {metadata['num_classes']} "
            f"classes, the network here has {classes}: pass --num-classes "
            f"{metadata['num_classes']} if it has that many, or build a table for {classes}"
        )
    if metadata["layout_digest"] != layout_digest(space):
        raise LatencyTableError(
            f"{path} was measured for supernet {metadata['supernet']!r} with "
            f"{metadata['num_classes']} classes; the asked space has another layout"
        )
    for name in family.latency_choices:
        extra = sorted(set(getattr(space, name)) - set(metadata.get(name, ())))
        if extra:
            raise LatencyTableError(
                f"{path} was measured for {name} {metadata.get(name)}, the space also has "
                f"{extra}; restrict the space or build a table for it"
            )
    values = {
        key: timing.min_ms if chosen == "min" else timing.median_ms
        for key, timing in table.entries.items()
    }
    tables: dict[int, ResolutionTable] = {}
    incomplete: list[str] = []
    for resolution in sorted(set(metadata.get("resolutions", ())) & set(space.resolutions)):
        grid = family.operator_grid(space, resolution)
        keys = {op: operator_key(op) for op in grid.operators()}
        absent = [key for key in keys.values() if key not in values]
        if absent:
            incomplete.append(f"{resolution} px ({len(absent)} of {len(keys)} operators)")
            continue
        value_of = {op: values[key] for op, key in keys.items()}
        fixed_ms = float(sum(value_of[op] for op in grid.fixed))
        tables[resolution] = ResolutionTable(resolution, fixed_ms, grid.slot_values(value_of))
    if incomplete:
        raise LatencyTableError(
            f"{path} is incomplete for this space, not measured: {'; '.join(incomplete)}; "
            "resume with `ofa latency build`"
        )
    if not tables:
        detail = (
            f"not measured: {'; '.join(incomplete)}; resume with `ofa latency build`"
            if incomplete
            else f"it covers resolutions {metadata.get('resolutions')}, the space "
            f"{list(space.resolutions)}"
        )
        raise LatencyTableError(f"{path} cannot predict for this space: {detail}")
    covered = space.restrict_choices({"resolutions": sorted(tables)})
    correction = table.correction if chosen == table_statistic(table) else None
    return LatencyModel(covered, tables, str(path), correction, dict(metadata, statistic=chosen))
