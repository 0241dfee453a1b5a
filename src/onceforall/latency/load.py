"""Latency tables: one entry point to load any of them as a vectorized `LatencyModel`.

    model = load_latency_table(Path("table.json"), space)        # measured here (ofa latency build)
    model = load_latency_table(Path(".../ofa/note10"), space)    # the reference's Note10 tables
    model.predict_population(population)  # float64 ms, one per row of the space's population
    model.predict(arch)                   # float ms
    model.space                           # `space` restricted to the resolutions the table covers

Building and validating tables: build.py and validate.py (`ofa latency ...`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from onceforall.arch.slot_table import ResolutionTable
from onceforall.arch.space import Space
from onceforall.errors import LatencyTableError
from onceforall.families.registry import family_of
from onceforall.latency.model import LatencyCorrection, LatencyModel
from onceforall.latency.reference import load_reference_tables
from onceforall.latency.table import read_table, table_model

__all__ = [
    "LatencyCorrection",
    "LatencyModel",
    "ResolutionTable",
    "load_latency_table",
]


def load_latency_table(path: Path, space: Space[Any], supernet: str | None = None) -> LatencyModel:
    """A latency model for sub-networks of `space`.

    `path`: a table measured by `ofa latency build` (.json), a reference YAML table (.yaml), or a
    directory of reference YAML tables, one per resolution (the reference's ofa/note10). Raises
    LatencyTableError when the file is missing or malformed (a time not finite or negative), was
    measured for another layout or supernet (`supernet`: the name the space belongs to, checked
    against our tables' metadata), or lacks an operator of the space.
    """
    path = Path(path)
    if path.suffix == ".json":
        table = read_table(path)
        if supernet is not None and table.metadata["supernet"] != supernet:
            raise LatencyTableError(
                f"{path} was measured for supernet {table.metadata['supernet']!r}, not {supernet!r}"
            )
        return table_model(path, table, space)
    if path.is_dir() or path.suffix in (".yaml", ".yml"):
        if not family_of(space).reads_reference_latency_tables:
            raise LatencyTableError(
                f"{path}: the reference's YAML latency tables cover OFA-MobileNetV3 spaces; "
                f"build a table for this space with `ofa latency build` (.json)"
            )
        return load_reference_tables(path, space)  # type: ignore[arg-type]
    if not path.exists():
        raise LatencyTableError(f"no such latency table: {path}")
    raise LatencyTableError(
        f"{path}: a latency table is a .json file (ofa latency build), a reference .yaml file "
        f"or a directory of them"
    )
