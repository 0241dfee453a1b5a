"""Validate a latency table: measure random whole sub-networks end to end and compare.

Networks are exported static modules timed with the table's own backend, threads, batch size,
warm-up and repetitions, in interleaved shuffled rounds over a chunk of networks (all of them by
default), so that a change of the machine's load hits every network alike; each round runs a
network several times in a row (`network_rounds` rounds share the repetitions), as deployed.
A first group of networks (calibration) fits a linear correction of the table's sums
(`LatencyCorrection`); the validation networks, sampled apart from them, measure the table with
and without it. The raw samples are saved after every round into the report, so an interrupted
run resumes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from onceforall.atomic_files import atomic_write_json, check_output_folder
from onceforall.errors import LatencyTableError
from onceforall.families.registry import family_of
from onceforall.latency.measure import (
    MeasureSettings,
    backend_versions,
    machine_description,
    make_runner,
    round_sizes,
    time_round,
    timing_from_samples,
    warm_up,
)
from onceforall.latency.metrics import AgreementMetrics, fit_correction
from onceforall.latency.model import LatencyCorrection, LatencyModel
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


def _rounds_done(count: int, done_after: list[int]) -> int:
    """Rounds a network completed, from its number of samples (0 if it matches no round)."""
    return done_after.index(count) if count in done_after else 0


def measure_networks(
    archs: list[Any],
    supernet_factory: Callable[[], Supernet[Any]],
    settings: MeasureSettings,
    samples: dict[str, list[int]],
    save: Callable[[], None],
    *,
    chunk_size: int,
    progress: bool,
) -> int:
    """Time the networks end to end, resuming from `samples` (updated in place, `save`d after
    every round); returns the number of rounds timed by this call."""
    sizes = round_sizes(settings)
    done_after = np.cumsum([0, *sizes]).tolist()
    done = {str(a): _rounds_done(len(samples.get(str(a), [])), done_after) for a in archs}
    supernet: Supernet[Any] | None = None
    rounds_timed = 0
    rng = np.random.default_rng([settings.seed, 2, sum(done.values())])
    # One step per network prepared (export) and per network timed in each round.
    finished = sum(rounds == settings.rounds for rounds in done.values())
    with tqdm(
        total=len(archs) * (settings.rounds + 1),
        initial=sum(done.values()) + finished,
        desc=f"networks ({settings.backend}, {len(archs)})",
        unit="step",
        disable=not progress,
    ) as bar:
        for start in range(0, len(archs), chunk_size):
            chunk = archs[start : start + chunk_size]
            first = min(done[str(a)] for a in chunk)
            if first == settings.rounds:
                continue
            for arch in chunk:  # the chunk advances together: align on its slowest network
                samples[str(arch)] = samples.get(str(arch), [])[: done_after[first]]
            if supernet is None:
                supernet = supernet_factory().eval()
            runners = []
            for offset, arch in enumerate(chunk):
                network = supernet.export(arch)
                seed = settings.seed * 1_000_003 + start + offset
                runners.append(
                    make_runner(network, (3, arch.resolution, arch.resolution), settings, seed)
                )
                bar.update(1)
            warm_up(runners, settings)
            for calls in sizes[first:]:
                new = time_round(runners, calls, settings, rng, lambda: bar.update(1))
                for arch, values in zip(chunk, new, strict=True):
                    samples[str(arch)].extend(values)
                rounds_timed += 1
                save()
    return rounds_timed


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


def validate_latency_table(config: ValidateConfig) -> ValidationReport:
    """Measure calibration + validation networks, fit the correction, write the report."""
    started = time.perf_counter()
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
    report_path = config.report_path
    samples = _previous_samples(report_path, identity)
    results: dict[str, Any] = {"complete": False}
    predictions: dict[str, dict[str, float]] = {}

    def save() -> None:
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
            for index, arch in enumerate(archs)
        }
        atomic_write_json(report_path, {"identity": identity, **results, "networks": networks})

    rounds_timed = measure_networks(
        archs,
        lambda: create_supernet(metadata["supernet"], int(metadata["num_classes"])),
        settings,
        samples,
        save,
        chunk_size=config.chunk_size,
        progress=config.progress,
    )
    population = space.to_population(archs)
    blocks = space.active_slots(population).sum(axis=1)
    primary = table_statistic(table)
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
    chosen = by_statistic[primary]
    raw, fitted, correction = chosen.raw, chosen.fitted, chosen.correction
    seconds = time.perf_counter() - started
    results = {
        "complete": True,
        "table_path": str(config.table),
        "validation_networks": config.n,
        "calibration_networks": config.calibration,
        "statistic": primary,
        **chosen.to_json(),
        "by_statistic": {name: fit.to_json() for name, fit in by_statistic.items()},
        "seconds": seconds,
    }
    predictions = {
        str(arch): {
            "predicted_ms": float(chosen.table_sum[i]),
            "corrected_ms": float(chosen.corrected[i]),
        }
        for i, arch in enumerate(archs)
    }
    save()
    if config.save_correction:
        if correction.scale <= 0:
            raise LatencyTableError(
                f"the fitted correction has scale {correction.scale:.3f} <= 0 and is not saved; "
                f"measure more calibration networks (--calibration)"
            )
        save_table(config.table, replace(table, correction=correction))
    return ValidationReport(
        report_path, config.n, config.calibration, raw, fitted, correction, rounds_timed, seconds
    )
