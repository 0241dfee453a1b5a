"""Validating a table end to end, the agreement metrics, and the fitted correction."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from onceforall.errors import LatencyTableError
from onceforall.latency.build import BuildConfig, build_latency_table
from onceforall.latency.load import load_latency_table
from onceforall.latency.metrics import (
    AgreementMetrics,
    fit_correction,
    kendall_tau,
    mape_percent,
)
from onceforall.latency.model import LatencyCorrection
from onceforall.latency.settings import MeasureSettings
from onceforall.latency.table import read_table
from onceforall.latency.validate import ValidateConfig, validate_latency_table
from onceforall.models.registry import supernet_space


def brute_force_tau_b(x: list[float], y: list[float]) -> float:
    concordant = discordant = ties_x = ties_y = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        dx, dy = x[i] - x[j], y[i] - y[j]
        if dx == 0 and dy == 0:
            continue
        if dx == 0:
            ties_x += 1
        elif dy == 0:
            ties_y += 1
        elif dx * dy > 0:
            concordant += 1
        else:
            discordant += 1
    return (concordant - discordant) / np.sqrt(
        (concordant + discordant + ties_x) * (concordant + discordant + ties_y)
    )


def test_kendall_tau_matches_its_definition() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.integers(0, 6, size=15).astype(float)  # many ties
        y = x + rng.integers(-2, 3, size=15)
        assert kendall_tau(x, y) == pytest.approx(brute_force_tau_b(list(x), list(y)), abs=1e-12)
    assert kendall_tau(np.arange(5.0), np.arange(5.0) ** 2) == 1.0
    assert kendall_tau(np.arange(5.0), -np.arange(5.0)) == -1.0
    with pytest.raises(LatencyTableError):
        kendall_tau(np.arange(3.0), np.arange(4.0))


def test_mape_and_metrics() -> None:
    measured = np.array([10.0, 20.0, 40.0])
    predicted = np.array([11.0, 18.0, 40.0])
    assert mape_percent(predicted, measured) == pytest.approx((10 + 10 + 0) / 3)
    metrics = AgreementMetrics.of(predicted, measured)
    assert metrics.max_abs_percent_error == pytest.approx(10.0)
    assert metrics.mean_signed_percent_error == pytest.approx(0.0)
    assert metrics.kendall_tau == 1.0


@pytest.mark.parametrize("per_block", [False, True])
def test_fit_correction_recovers_a_linear_relation(per_block: bool) -> None:
    rng = np.random.default_rng(1)
    table_sum = rng.uniform(2, 10, size=30)
    blocks = rng.integers(6, 20, size=30)
    truth = LatencyCorrection(0.3, 1.2, 0.05 if per_block else 0.0)
    fitted = fit_correction(table_sum, blocks, truth.apply(table_sum, blocks), per_block=per_block)
    assert fitted.offset_ms == pytest.approx(truth.offset_ms, abs=1e-9)
    assert fitted.scale == pytest.approx(truth.scale, abs=1e-9)
    assert fitted.per_block_ms == pytest.approx(truth.per_block_ms, abs=1e-9)
    with pytest.raises(LatencyTableError, match="calibration networks"):
        fit_correction(table_sum[:2], blocks[:2], table_sum[:2], per_block=per_block)


@pytest.fixture(scope="module")
def tiny_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("validate") / "tiny.json"
    settings = MeasureSettings(threads=1, warmup=1, repetitions=4, rounds=2)
    build_latency_table(
        BuildConfig("test_mbv3_tiny", out, settings, resolutions=(16, 20), progress=False)
    )
    return out


def test_validate_reports_and_resumes(tiny_table: Path, tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    config = ValidateConfig(
        tiny_table,
        n=6,
        calibration=4,
        seed=3,
        out=report_path,
        chunk_size=4,
        network_rounds=2,
        progress=False,
    )
    report = validate_latency_table(config)
    assert report.path == report_path and report.measured_rounds == 3 * 2  # 3 chunks x 2 rounds
    content = json.loads(report_path.read_text())
    assert content["complete"] is True and content["statistic"] == "min"
    assert set(content["by_statistic"]) == {"min", "median"}
    networks = content["networks"]
    assert [e["role"] for e in networks.values()] == ["calibration"] * 4 + ["validation"] * 6
    assert all(len(e["samples_ns"]) == 4 and e["measured"]["count"] == 4 for e in networks.values())
    for metrics in (report.raw, report.corrected):
        assert np.isfinite(metrics.mape_percent) and -1 <= metrics.kendall_tau <= 1
    # A second run finds every network measured and computes the same figures.
    again = validate_latency_table(config)
    assert again.measured_rounds == 0 and again.raw == report.raw
    # An interrupted run (one chunk lost its last round) re-times only what is missing.
    for arch in list(networks)[4:8]:
        networks[arch]["samples_ns"] = networks[arch]["samples_ns"][:2]
    report_path.write_text(json.dumps(content))
    assert validate_latency_table(config).measured_rounds == 1


def test_save_correction_writes_it_into_the_table(tiny_table: Path, tmp_path: Path) -> None:
    table = tmp_path / "t.json"
    table.write_text(tiny_table.read_text())
    report = validate_latency_table(
        ValidateConfig(table, n=3, calibration=10, save_correction=True, progress=False)
    )
    assert report.path == tmp_path / "t.validation.json"
    assert read_table(table).correction == report.correction
    space = supernet_space("test_mbv3_tiny")
    corrected = load_latency_table(table, space)  # type: ignore[arg-type]
    population = corrected.space.sample_population(10, np.random.default_rng(0))
    raw = corrected.without_correction().predict_population(population)
    blocks = corrected.space.active_slots(population).sum(axis=1)
    expected = report.correction.apply(raw, blocks)
    assert np.allclose(corrected.predict_population(population), expected)


def test_validate_refuses_a_table_from_another_machine(tiny_table: Path, tmp_path: Path) -> None:
    table = tmp_path / "elsewhere.json"
    content = json.loads(tiny_table.read_text())
    content["metadata"]["machine"] = dict(content["metadata"]["machine"], processor="other")
    table.write_text(json.dumps(content))
    with pytest.raises(LatencyTableError, match="machine"):
        validate_latency_table(ValidateConfig(table, n=3, calibration=4, progress=False))
    with pytest.raises(LatencyTableError, match="at least 2"):
        validate_latency_table(replace(ValidateConfig(tiny_table), n=1))
    with pytest.raises(LatencyTableError, match="built here"):
        validate_latency_table(ValidateConfig(tmp_path / "note10.yaml"))
