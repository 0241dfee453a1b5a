"""Building latency tables: measured entries, the file format, resuming, mismatches."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from onceforall.arch.mbv3 import MBv3Space
from onceforall.errors import LatencyTableError
from onceforall.families.operators import operator_key
from onceforall.latency.build import BuildConfig, build_latency_table, space_operators
from onceforall.latency.load import load_latency_table
from onceforall.latency.measure import round_sizes, time_round
from onceforall.latency.settings import MeasureSettings
from onceforall.latency.table import read_table, save_table, table_model
from onceforall.models.registry import supernet_space

FAST = MeasureSettings(backend="torch", threads=1, warmup=1, repetitions=3, rounds=2)


def tiny_config(out: Path, **changes: object) -> BuildConfig:
    config = BuildConfig(
        "test_mbv3_tiny", out, FAST, resolutions=(16, 20), chunk_size=7, progress=False
    )
    return replace(config, **changes)  # type: ignore[arg-type]


def tiny_space() -> MBv3Space:
    space = supernet_space("test_mbv3_tiny")
    assert isinstance(space, MBv3Space)
    return space


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("latency") / "tiny.json"
    result = build_latency_table(tiny_config(out))
    assert result.measured == result.operators and result.reused == 0
    return out


def test_table_holds_every_operator_with_statistics(built: Path) -> None:
    table = read_table(built)
    space = tiny_space().restrict(resolutions=[16, 20])
    assert set(table.entries) == {operator_key(op) for op in space_operators(space)}
    for timing in table.entries.values():
        assert timing.count == FAST.repetitions
        assert 0 < timing.min_ms <= timing.median_ms and timing.iqr_ms >= 0
    metadata = table.metadata
    assert metadata["supernet"] == "test_mbv3_tiny" and metadata["resolutions"] == [16, 20]
    assert metadata["backend"] == "torch" and metadata["threads"] == 1
    assert metadata["statistic"] == "min" and "torch" in metadata["versions"]
    assert [p.name for p in built.parent.iterdir()] == ["tiny.json"]  # no temp files left


def test_table_predicts_for_the_space(built: Path) -> None:
    model = load_latency_table(built, tiny_space())
    assert model.resolutions == (16, 20) and model.space.resolutions == (16, 20)
    population = model.space.sample_population(64, np.random.default_rng(0))
    predicted = model.predict_population(population)
    assert np.all(predicted > 0) and np.all(np.isfinite(predicted))
    medians = table_model(built, read_table(built), tiny_space(), "median")
    assert np.all(medians.predict_population(population) >= predicted)  # the table's is min
    with pytest.raises(LatencyTableError, match="resolution 24"):
        model.predict(tiny_space().max())


def test_resume_measures_only_what_is_missing(built: Path, tmp_path: Path) -> None:
    out = tmp_path / "partial.json"
    table = read_table(built)
    kept = dict(list(table.entries.items())[::2])
    save_table(out, replace(table, entries=kept))
    with pytest.raises(LatencyTableError, match="not measured"):
        load_latency_table(out, tiny_space())
    result = build_latency_table(tiny_config(out))
    assert result.reused == len(kept) and result.measured == len(table.entries) - len(kept)
    resumed = read_table(out)
    assert set(resumed.entries) == set(table.entries)
    assert all(resumed.entries[key] == timing for key, timing in kept.items())
    again = build_latency_table(tiny_config(out))
    assert again.measured == 0 and read_table(out) == resumed


def test_resume_refuses_another_measurement_setup(built: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    out.write_text(built.read_text())
    with pytest.raises(LatencyTableError, match="threads=1, not 2"):
        build_latency_table(tiny_config(out, settings=replace(FAST, threads=2)))
    with pytest.raises(LatencyTableError, match="num_classes"):
        build_latency_table(tiny_config(out, num_classes=7))


def test_loading_for_another_space_is_an_error(built: Path) -> None:
    other = supernet_space("ofa_mbv3_w10_small_input")
    assert isinstance(other, MBv3Space)
    with pytest.raises(LatencyTableError, match=r"test_mbv3_tiny.*another layout"):
        load_latency_table(built, other)
    with pytest.raises(LatencyTableError, match="pass --num-classes 10"):
        load_latency_table(built, supernet_space("test_mbv3_tiny", 5))  # type: ignore[arg-type]
    with pytest.raises(LatencyTableError, match="cannot predict"):
        load_latency_table(built, tiny_space().restrict(resolutions=[24]))


def test_restricted_table_and_wider_space(tmp_path: Path) -> None:
    out = tmp_path / "k3.json"
    build_latency_table(tiny_config(out, resolutions=(16,), kernel_sizes=(3,), expand_ratios=(3,)))
    with pytest.raises(LatencyTableError, match="kernel_sizes"):
        load_latency_table(out, tiny_space())
    narrow = tiny_space().restrict(kernel_sizes=[3], expand_ratios=[3])
    assert load_latency_table(out, narrow).predict(narrow.min()) > 0


def test_onnxruntime_backend(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    out = tmp_path / "ort.json"
    settings = replace(FAST, backend="onnxruntime")
    build_latency_table(
        tiny_config(
            out, settings=settings, resolutions=(16,), kernel_sizes=(3,), expand_ratios=(3,)
        )
    )
    table = read_table(out)
    assert table.metadata["backend"] == "onnxruntime"
    assert "onnxruntime" in table.metadata["versions"]
    model = load_latency_table(out, tiny_space().restrict(kernel_sizes=[3], expand_ratios=[3]))
    assert model.predict(model.space.max()) > 0


def test_corrupt_tables_are_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(LatencyTableError, match="cannot read"):
        load_latency_table(bad, tiny_space())
    bad.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(LatencyTableError, match="not an onceforall latency table"):
        load_latency_table(bad, tiny_space())
    with pytest.raises(LatencyTableError, match="no such"):
        load_latency_table(tmp_path / "missing.json", tiny_space())
    with pytest.raises(LatencyTableError, match="a latency table is"):
        (tmp_path / "table.txt").write_text("")
        load_latency_table(tmp_path / "table.txt", tiny_space())


def test_rounds_are_shuffled_by_the_seeded_generator() -> None:
    calls: list[int] = []
    runners = [lambda i=i: calls.append(i) for i in range(6)]
    settings = replace(FAST, repetitions=4, rounds=2)
    samples = time_round(runners, 2, settings, np.random.default_rng(5))
    expected = np.random.default_rng(5).permutation(6).tolist()
    assert calls == [i for i in expected for _ in range(2)]
    assert [len(s) for s in samples] == [2] * 6 and all(v > 0 for s in samples for v in s)
    assert round_sizes(replace(FAST, repetitions=7, rounds=3)) == [3, 2, 2]


def test_default_rounds_depend_on_the_backend() -> None:
    assert MeasureSettings(backend="torch", repetitions=40).rounds == 40  # one call per round
    assert MeasureSettings(backend="onnxruntime", repetitions=40).rounds == 5
    assert MeasureSettings(backend="onnxruntime", repetitions=3).rounds == 3
    assert MeasureSettings(backend="torch", rounds=2).rounds == 2


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(LatencyTableError, match="backend"):
        MeasureSettings(backend="tensorrt")  # type: ignore[arg-type]
    with pytest.raises(LatencyTableError, match="threads"):
        MeasureSettings(threads=0)
    with pytest.raises(LatencyTableError, match="rounds"):
        MeasureSettings(repetitions=2, rounds=3)
