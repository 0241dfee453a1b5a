"""Reading an accuracy dataset: JSONL lines `{"arch": "<arch string>", "accuracy": fraction, ...}`.

`ofa predictor dataset` writes such files (sample sub-networks, recalibrate BN, evaluate); other
keys on a line are kept out of the way. Accuracies are fractions in [0, 1]; a file in percent is
an error rather than a silent factor of 100.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from onceforall.arch.space import Space
from onceforall.errors import OnceForAllError, PredictorError


@dataclass(frozen=True, eq=False)
class AccuracyRecords:
    """Measured sub-networks: one population row and one accuracy (fraction) each."""

    population: np.ndarray  # int32, (n, space.population_width)
    accuracy: np.ndarray  # float64, (n,)

    def __len__(self) -> int:
        return len(self.accuracy)

    def subset(self, rows: np.ndarray) -> AccuracyRecords:
        return AccuracyRecords(self.population[rows], self.accuracy[rows])


def read_accuracy_records(path: Path, space: Space[Any]) -> AccuracyRecords:
    """Every line of `path` as a row of `space`; PredictorError naming the line on bad input."""
    path = Path(path)
    if not path.is_file():
        raise PredictorError(f"no such accuracy dataset: {path}")
    archs = []
    accuracies = []
    with path.open() as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise PredictorError(f"{where}: invalid JSON ({error.msg})") from None
            if not isinstance(record, dict) or "arch" not in record or "accuracy" not in record:
                raise PredictorError(f"{where}: a record needs 'arch' and 'accuracy'")
            try:
                archs.append(space.parse(record["arch"]))
            except OnceForAllError as error:
                raise PredictorError(f"{where}: {error}") from None
            accuracy = record["accuracy"]
            if isinstance(accuracy, bool) or not isinstance(accuracy, (int, float)):
                raise PredictorError(f"{where}: accuracy must be a number, got {accuracy!r}")
            if not 0.0 <= accuracy <= 1.0:
                raise PredictorError(
                    f"{where}: accuracy {accuracy} is not a fraction in [0, 1] (percent?)"
                )
            accuracies.append(float(accuracy))
    if not archs:
        raise PredictorError(f"{path}: no records")
    return AccuracyRecords(space.to_population(archs), np.asarray(accuracies, dtype=np.float64))
