"""Validate a latency table: measure random whole sub-networks end to end and compare.

Networks are exported static modules timed with the table's own backend, threads, batch size,
warm-up and repetitions (networks.py: interleaved shuffled rounds over a chunk of networks, all of
them by default; `network_rounds` rounds share the repetitions).
A first group of networks (calibration) fits a linear correction of the table's sums
(`LatencyCorrection`); the validation networks, sampled apart from them, measure the table with
and without it. The raw samples are saved after every round into the report, so an interrupted
run resumes. The steps: load_validation -> measure_networks -> compute_agreement ->
write_validation.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from onceforall.arch.space import Space
from onceforall.atomic_files import atomic_write_json, check_output_folder
from onceforall.errors import LatencyTableError
from onceforall.families.registry import family_of
from onceforall.latency.measure import (
    MeasureSettings,
    backend_versions,
    machine_description,
    timing_from_samples,
)
from onceforall.latency.metrics import AgreementMetrics, fit_correction
from onceforall.latency.model import LatencyCorrection, LatencyModel
from onceforall.latency.networks import measure_networks
from onceforall.latency.table import (
    IDENTITY_FIELDS,
    STATISTICS,
    LatencyTable,
    check_same_measurement,
    read_json,
    read_table,
    save_table,
    table_model,
    table_statistic,
)
from onceforall.models.registry import create_supernet, supernet_space
from onceforall.models.supernet import Supernet


@dataclass(frozen=True)
class ValidateConfig:
    table: Path
    n: int = 50  # validation networks
    calibration: int = 20  # networks that fit the correction (never validated on)
    seed: int = 0
    out: Path | None = None  # default: TABLE.validation.json next to the table
    chunk_size: int = 100  # networks alive and interleaved at once
    network_rounds: int = 5  # the table's repetitions per network, in this many rounds
    per_block_correction: bool = False  # also fit a per-block term besides offset and scale
    save_correction: bool = False  # write the fitted correction into the table
    progress: bool = True

    @property
    def report_path(self) -> Path:
        return self.out if self.out is not None else self.table.with_suffix(".validation.json")


@dataclass(frozen=True)
class ValidationReport:
    path: Path
    networks: int
    calibration_networks: int
    raw: AgreementMetrics
    corrected: AgreementMetrics
    correction: LatencyCorrection
    measured_rounds: int  # rounds timed by this run (0: all found in the report)
    seconds: float


def network_settings(metadata: dict[str, Any], rounds: int, seed: int) -> MeasureSettings:
    """The table's backend, threads, batch size, warm-up and repetitions, in `rounds` rounds."""
    return MeasureSettings(
        backend=metadata["backend"],
        threads=int(metadata["threads"]),
        batch_size=int(metadata["batch_size"]),
        warmup=int(metadata["warmup"]),
        repetitions=int(metadata["repetitions"]),
        rounds=min(rounds, int(metadata["repetitions"])),
        seed=seed,
    )


def table_space_model(
    path: Path, table: LatencyTable, statistic: str | None = None
) -> LatencyModel:
    """The table's model over its own supernet's space (restricted to the measured choices)."""
    metadata = table.metadata
    space = supernet_space(metadata["supernet"], int(metadata["num_classes"]))
    names = (*family_of(space).latency_choices, "resolutions")
    missing = [name for name in names if name not in metadata]
    if missing:
        raise LatencyTableError(f"{path}: metadata lacks {', '.join(missing)}")
    space = space.restrict_choices({name: metadata[name] for name in names})
    return table_model(path, table, space, statistic)


def _previous_samples(path: Path, identity: dict[str, Any]) -> dict[str, list[int]]:
    """Raw samples (ns) of an earlier run of the same validation, if its report matches."""
    if not path.exists():
        return {}
    previous = read_json(path)
    if not isinstance(previous, dict) or previous.get("identity") != identity:
        return {}
    return {
        arch: [int(v) for v in entry["samples_ns"]]
        for arch, entry in previous.get("networks", {}).items()
        if isinstance(entry, dict) and isinstance(entry.get("samples_ns"), list)
    }


def _statistic(samples_ns: list[int], statistic: str) -> float:
    timing = timing_from_samples(samples_ns)
    return timing.min_ms if statistic == "min" else timing.median_ms


@dataclass(frozen=True, eq=False)
class StatisticAgreement:
    """Predictions of one statistic's table for every network, and how well they agree."""

    table_sum: np.ndarray
    corrected: np.ndarray
    correction: LatencyCorrection
    raw: AgreementMetrics
    fitted: AgreementMetrics

    def to_json(self) -> dict[str, Any]:
        return {
            "without_correction": asdict(self.raw),
            "with_correction": asdict(self.fitted),
            "correction": self.correction.to_json(),
        }


def _agreement(
    model: LatencyModel,
    population: np.ndarray,
    blocks: np.ndarray,
    truth: np.ndarray,
    config: ValidateConfig,
) -> StatisticAgreement:
    """Metrics on the validation rows, raw and with a correction fitted on the calibration rows."""
    table_sum = model.predict_population(population)
    calibration, validation = slice(0, config.calibration), slice(config.calibration, None)
    correction = fit_correction(
        table_sum[calibration],
        blocks[calibration],
        truth[calibration],
        per_block=config.per_block_correction,
    )
    corrected = correction.apply(table_sum, blocks)
    return StatisticAgreement(
        table_sum,
        corrected,
        correction,
        AgreementMetrics.of(table_sum[validation], truth[validation]),
        AgreementMetrics.of(corrected[validation], truth[validation]),
    )


@dataclass(frozen=True, eq=False)
class ValidationInputs:
    """What a validation measures, loaded and checked before any timing: the table, the networks
    (calibration first) and the settings, and the identity a resumed run must match."""

    config: ValidateConfig
    table: LatencyTable
    space: Space[Any]
    settings: MeasureSettings
    archs: list[Any]
    identity: dict[str, Any]

    def supernet(self) -> Supernet[Any]:
        metadata = self.table.metadata
        return create_supernet(metadata["supernet"], int(metadata["num_classes"]))


@dataclass(frozen=True, eq=False)
class ValidationResult:
    """The agreement of every statistic's table with the measured networks; `statistic` is the
    table's own, whose predictions and correction the report leads with."""

    statistic: str
    by_statistic: dict[str, StatisticAgreement]
    seconds: float

    @property
    def chosen(self) -> StatisticAgreement:
        return self.by_statistic[self.statistic]

    def to_json(self, config: ValidateConfig) -> dict[str, Any]:
        return {
            "complete": True,
            "table_path": str(config.table),
            "validation_networks": config.n,
            "calibration_networks": config.calibration,
            "statistic": self.statistic,
            **self.chosen.to_json(),
            "by_statistic": {name: fit.to_json() for name, fit in self.by_statistic.items()},
            "seconds": self.seconds,
        }

    def predictions(self, archs: list[Any]) -> dict[str, dict[str, float]]:
        return {
            str(arch): {
                "predicted_ms": float(self.chosen.table_sum[i]),
                "corrected_ms": float(self.chosen.corrected[i]),
            }
            for i, arch in enumerate(archs)
        }


def _check_config(config: ValidateConfig) -> None:
    if config.n < 2:
        raise LatencyTableError(f"validation needs at least 2 networks, got {config.n}")
    if config.chunk_size < 1:
        raise LatencyTableError(f"chunk_size must be at least 1, got {config.chunk_size}")
    if config.table.suffix != ".json":
        raise LatencyTableError(
            f"{config.table}: validation measures networks on this machine and needs a table "
            f"built here by `ofa latency build` (.json)"
        )
    check_output_folder(config.report_path.parent, LatencyTableError)  # before any measurement


def load_validation(config: ValidateConfig) -> ValidationInputs:
    """Check the request, read the table (measured on this machine, with these backends) and
    sample the calibration + validation networks from its space."""
    _check_config(config)
    table = read_table(config.table)
    metadata = dict(table.metadata)
    here = dict(
        metadata, machine=machine_description(), versions=backend_versions(metadata["backend"])
    )
    check_same_measurement(config.table, metadata, here)
    space = table_space_model(config.table, table).space
    settings = network_settings(metadata, config.network_rounds, config.seed)
    archs = space.sample_distinct(
        config.calibration + config.n, np.random.default_rng([config.seed, 1])
    )
    identity = {
        "table": {name: metadata[name] for name in IDENTITY_FIELDS},
        "seed": config.seed,
        "calibration": config.calibration,
        "n": config.n,
        "chunk_size": config.chunk_size,
        "network_rounds": settings.rounds,
    }
    return ValidationInputs(config, table, space, settings, archs, identity)


def compute_agreement(
    inputs: ValidationInputs, samples: dict[str, list[int]], started: float
) -> ValidationResult:
    """Every statistic's table against the measured networks (the correction fitted per statistic);
    `seconds` counts from `started` (time.perf_counter) to the end of this step."""
    config, table, archs = inputs.config, inputs.table, inputs.archs
    population = inputs.space.to_population(archs)
    blocks = inputs.space.active_slots(population).sum(axis=1)
    by_statistic = {
        statistic: _agreement(
            table_space_model(config.table, table, statistic).without_correction(),
            population,
            blocks,
            np.array([_statistic(samples[str(a)], statistic) for a in archs]),
            config,
        )
        for statistic in STATISTICS
    }
    return ValidationResult(table_statistic(table), by_statistic, time.perf_counter() - started)


def write_validation(
    inputs: ValidationInputs, samples: dict[str, list[int]], result: ValidationResult | None
) -> None:
    """The report: the identity, the result (or `complete: false` while measuring) and every
    network's role, predictions, measured timing and raw samples (ns)."""
    config = inputs.config
    results = {"complete": False} if result is None else result.to_json(config)
    predictions = {} if result is None else result.predictions(inputs.archs)
    networks = {
        str(arch): {
            "role": "calibration" if index < config.calibration else "validation",
            **predictions.get(str(arch), {}),
            **(
                {"measured": timing_from_samples(samples[str(arch)]).to_json()}
                if samples.get(str(arch))
                else {}
            ),
            "samples_ns": samples.get(str(arch), []),
        }
        for index, arch in enumerate(inputs.archs)
    }
    payload = {"identity": inputs.identity, **results, "networks": networks}
    atomic_write_json(config.report_path, payload)


def _save_correction(inputs: ValidationInputs, correction: LatencyCorrection) -> None:
    if correction.scale <= 0:
        raise LatencyTableError(
            f"the fitted correction has scale {correction.scale:.3f} <= 0 and is not saved; "
            f"measure more calibration networks (--calibration)"
        )
    save_table(inputs.config.table, replace(inputs.table, correction=correction))


def validate_latency_table(config: ValidateConfig) -> ValidationReport:
    """Measure calibration + validation networks, fit the correction, write the report: load ->
    measure (resuming from the report, rewritten after every round) -> compute -> write."""
    started = time.perf_counter()
    inputs = load_validation(config)
    samples = _previous_samples(config.report_path, inputs.identity)
    rounds_timed = measure_networks(
        inputs.archs,
        inputs.supernet,
        inputs.settings,
        samples,
        lambda: write_validation(inputs, samples, None),
        chunk_size=config.chunk_size,
        progress=config.progress,
    )
    result = compute_agreement(inputs, samples, started)
    write_validation(inputs, samples, result)
    chosen = result.chosen
    if config.save_correction:
        _save_correction(inputs, chosen.correction)
    return ValidationReport(
        config.report_path,
        config.n,
        config.calibration,
        chosen.raw,
        chosen.fitted,
        chosen.correction,
        rounds_timed,
        result.seconds,
    )
