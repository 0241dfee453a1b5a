"""Fitting: learns a known smooth accuracy function, deterministic per seed, clean reports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from onceforall.arch.mbv3 import MBv3Space
from onceforall.errors import PredictorError
from onceforall.predict.fit import fit_predictor, split_rows
from onceforall.predict.fit_config import FitConfig
from onceforall.predict.records import AccuracyRecords, read_accuracy_records
from onceforall.predict.report import evaluate_predictor, held_out_report, write_report

FAST = FitConfig(
    hidden_sizes=(64, 64), max_epochs=30, batch_size=64, learning_rate=3e-3, patience=20, seed=0
)


def synthetic_accuracy(space: MBv3Space, population: np.ndarray) -> np.ndarray:
    """Accuracy rising smoothly with log MACs, plus a kernel-size effect: a known function."""
    macs = np.log(space.macs_population(population).astype(float))
    low, high = np.log(space.macs(space.min())), np.log(space.macs(space.max()))
    _, k_cols, _ = space.columns()
    kernels = population[:, k_cols].sum(axis=1) / (7 * space.layout.num_slots)
    return 0.55 + 0.2 * (macs - low) / (high - low) + 0.05 * kernels


def synthetic_records(space: MBv3Space, n: int, seed: int) -> AccuracyRecords:
    population = space.sample_population(n, np.random.default_rng(seed))
    return AccuracyRecords(population, synthetic_accuracy(space, population))


def write_jsonl(path: Path, space: MBv3Space, records: AccuracyRecords) -> Path:
    archs = space.from_population(records.population)
    lines = [
        json.dumps({"arch": str(a), "accuracy": float(acc), "loss": 1.0})
        for a, acc in zip(archs, records.accuracy, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_fit_learns_a_smooth_function(tiny_space: MBv3Space) -> None:
    train = synthetic_records(tiny_space, 500, seed=0)
    test = synthetic_records(tiny_space, 300, seed=1)
    result = fit_predictor(tiny_space, train, FAST, supernet="test_mbv3_tiny", progress=False)
    report, predicted = evaluate_predictor(result.predictor, tiny_space, test)
    assert report.n == 300
    assert report.kendall_tau > 0.9, report
    assert report.rmse_pp < 1.0, report
    assert result.train_size + result.validation_size == 500
    assert 1 <= result.best_epoch <= len(result.history) <= FAST.max_epochs
    best = min(e.validation_rmse_pp for e in result.history)
    assert result.predictor.info["fit"]["best_validation_rmse_pp"] == pytest.approx(best)
    # standardization folded into the last layer: the saved net predicts fractions directly
    assert abs(float(np.mean(predicted)) - float(np.mean(test.accuracy))) < 0.01


def test_fit_is_deterministic_per_seed(tiny_space: MBv3Space) -> None:
    records = synthetic_records(tiny_space, 200, seed=2)
    config = FitConfig(hidden_sizes=(16,), max_epochs=5, batch_size=32, seed=7)
    runs = [fit_predictor(tiny_space, records, config, progress=False) for _ in range(2)]
    population = tiny_space.sample_population(50, np.random.default_rng(3))
    first, second = (r.predictor.predict_population(tiny_space, population) for r in runs)
    np.testing.assert_array_equal(first, second)
    other = fit_predictor(
        tiny_space, records, FitConfig(hidden_sizes=(16,), max_epochs=5, seed=8), progress=False
    )
    assert not np.array_equal(other.predictor.predict_population(tiny_space, population), first)


def test_early_stopping_keeps_the_best_epoch(tiny_space: MBv3Space) -> None:
    records = synthetic_records(tiny_space, 100, seed=4)
    config = FitConfig(hidden_sizes=(16,), max_epochs=200, learning_rate=0.05, patience=3)
    result = fit_predictor(tiny_space, records, config, progress=False)
    assert len(result.history) < 200
    assert len(result.history) - result.best_epoch == 3


def test_split_rows_is_seeded_and_disjoint() -> None:
    rest, held = split_rows(100, 0.2, seed=0, stream=0)
    assert len(held) == 20 and len(rest) == 80
    assert not set(rest) & set(held)
    again, _ = split_rows(100, 0.2, seed=0, stream=0)
    np.testing.assert_array_equal(rest, again)
    with pytest.raises(PredictorError):
        split_rows(1, 0.5, seed=0, stream=0)


def test_bad_configs_are_errors() -> None:
    with pytest.raises(PredictorError):
        FitConfig(hidden_sizes=())
    with pytest.raises(PredictorError):
        FitConfig(validation_fraction=1.0)
    with pytest.raises(PredictorError):
        FitConfig(max_epochs=0)


def test_read_records(tiny_space: MBv3Space, tmp_path: Path) -> None:
    records = synthetic_records(tiny_space, 20, seed=5)
    path = write_jsonl(tmp_path / "data.jsonl", tiny_space, records)
    read = read_accuracy_records(path, tiny_space)
    np.testing.assert_array_equal(read.population, records.population)
    np.testing.assert_allclose(read.accuracy, records.accuracy)
    cases = {
        '{"arch": "r16-k3e3_k3e3-k3e3_k3e3-k3e3_k3e3", "accuracy": 76.5}': "percent",
        '{"arch": "r16-k3e3_k3e3-k3e3_k3e3-k3e3_k3e3"}': "'accuracy'",
        '{"arch": "r99-k3e3_k3e3-k3e3_k3e3-k3e3_k3e3", "accuracy": 0.5}': "resolution=99",
        '{"arch": 5': "invalid JSON",
    }
    for line, message in cases.items():
        bad = tmp_path / "bad.jsonl"
        bad.write_text(path.read_text() + line + "\n")
        with pytest.raises(PredictorError, match=f":21: .*{message}"):
            read_accuracy_records(bad, tiny_space)
    with pytest.raises(PredictorError, match="no such"):
        read_accuracy_records(tmp_path / "missing.jsonl", tiny_space)


def test_report_numbers_and_files(tmp_path: Path) -> None:
    measured = np.array([0.70, 0.72, 0.74, 0.76])
    predicted = np.array([0.71, 0.72, 0.73, 0.78])
    report = held_out_report(predicted, measured)
    assert report.rmse_pp == pytest.approx(np.sqrt((1 + 0 + 1 + 4) / 4))
    assert report.mean_error_pp == pytest.approx(0.5)
    assert report.max_abs_error_pp == pytest.approx(2.0)
    assert report.kendall_tau == pytest.approx(1.0)
    written = write_report(tmp_path, report, predicted, measured, {"k": 1}, "title")
    assert {p.name for p in written} == {"report.json", "predicted_vs_measured.png"}
    payload = json.loads((tmp_path / "report.json").read_text())
    assert payload["k"] == 1 and payload["held_out"]["n"] == 4
    assert (tmp_path / "predicted_vs_measured.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(PredictorError):
        held_out_report(predicted[:1], measured[:1])
