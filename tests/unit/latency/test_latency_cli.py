"""`ofa latency build | validate | predict` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from onceforall.cli.main import main

REFERENCE_DATA = Path(__file__).resolve().parents[4] / "shared" / "reference-data"
FAST = ["--warmup", "1", "--repetitions", "2", "--rounds", "1", "--no-progress"]


def test_build_validate_predict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "tiny.json"
    build = ["latency", "build", "test_mbv3_tiny", "--out", str(table), "--resolutions", "16"]
    assert main([*build, *FAST]) == 0
    assert "distinct operators" in capsys.readouterr().out
    assert main([*build, *FAST]) == 0  # resumed: nothing left to measure
    assert "0 measured now" in capsys.readouterr().out

    report = tmp_path / "report.json"
    validate = ["latency", "validate", str(table), "--n", "3", "--calibration", "4"]
    assert main([*validate, "--out", str(report), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "Kendall tau" in out and "MAPE" in out
    assert json.loads(report.read_text())["complete"] is True

    predict = ["latency", "predict", "test_mbv3_tiny", str(table), "--sample", "3", "--json"]
    assert main(predict) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 3 and all(row["latency_ms"] > 0 for row in rows)


def test_errors_are_one_line_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["latency", "predict", "test_mbv3_tiny", str(tmp_path / "none.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ofa latency: error: no such") and err.count("\n") == 1
    assert main(["latency", "build", "test_mbv3_tiny", "--out", str(tmp_path / "t.json"),
                 "--threads", "0", "--no-progress"]) == 2  # fmt: skip
    assert "--threads: must be in [1, 4096], got 0" in capsys.readouterr().err


@pytest.mark.skipif(not (REFERENCE_DATA / "ofa" / "note10").is_dir(), reason="no reference data")
def test_predict_with_the_note10_tables(capsys: pytest.CaptureFixture[str]) -> None:
    note10 = str(REFERENCE_DATA / "ofa" / "note10")
    arch = "r160-k3e3_k3e3-k3e3_k3e3-k3e3_k3e3-k3e3_k3e3-k3e3_k3e3"
    assert main(["latency", "predict", "ofa_mbv3_w12", note10, arch, "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["arch"] == arch and 0 < row["latency_ms"] < 1000
    assert main(["latency", "predict", "ofa_mbv3_w12", note10, arch.replace("r160", "r164")]) == 2
    assert "not in (160, 176, 192, 208, 224)" in capsys.readouterr().err
