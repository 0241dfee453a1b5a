"""`ofa search` end to end: files, run directories, the Note10 tables, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from onceforall.arch.mbv3 import MBv3Space
from onceforall.cli.main import main
from onceforall.predict.accuracy import AccuracyPredictor

FAST = ["--population", "20", "--generations", "10", "--quiet"]


@pytest.fixture
def predictor_file(tmp_path: Path, additive: AccuracyPredictor) -> Path:
    path = tmp_path / "predictor.pt"
    additive.save(path)
    return path


def test_search_writes_results_per_budget(
    tiny_space: MBv3Space, predictor_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    command = ["search", "--supernet", "test_mbv3_tiny", "--predictor", str(predictor_file)]
    budgets = ["--max-macs", "300K", "0.5M", "--budgets", "macs=400k,params=50000"]
    assert main([*command, *budgets, *FAST, "--seed", "1", "--out", str(out)]) == 0
    payload = json.loads((out / "search.json").read_text())
    assert payload["seed"] == 1 and payload["algorithm"] == "evolution"
    assert payload["hyperparameters"]["generations"] == 10
    assert payload["search_seconds"] > 0
    results = payload["results"]
    assert [r["budget"]["max_macs"] for r in results] == [300_000, 500_000, 400_000]
    for result in results:
        arch = tiny_space.from_reference_dict(result["arch"])
        assert str(arch) == result["arch_string"]
        assert tiny_space.arch_from_json(result["arch_json"]) == arch
        assert result["macs"] == tiny_space.macs(arch) <= result["budget"]["max_macs"]
        assert 0.5 < result["predicted_accuracy"] < 1.0
        assert result["latency_ms"] is None
    assert results[2]["params"] <= 50_000
    assert not (out / "pareto.json").exists()


def test_pareto_and_random_search(predictor_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    command = ["search", "--supernet", "test_mbv3_tiny", "--predictor", str(predictor_file)]
    options = ["--pareto", "--pareto-generations", "5", "--algorithm", "random"]
    assert main([*command, *options, "--random-samples", "300", *FAST, "--out", str(out)]) == 0
    front = json.loads((out / "pareto.json").read_text())
    assert front["objective"] == "macs" and len(front["points"]) >= 2
    assert (out / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "search.json").read_text())["results"] == []


def test_search_a_run_directory(predictor_file: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "predictor").mkdir(parents=True)
    (run / "config.yaml").write_text("supernet: test_mbv3_tiny\nnum_classes: 10\nphases: []\n")
    (run / "predictor" / "predictor.pt").write_bytes(predictor_file.read_bytes())
    out = tmp_path / "out"
    assert main(["search", str(run), "--max-macs", "400K", *FAST, "--out", str(out)]) == 0
    payload = json.loads((out / "search.json").read_text())
    assert payload["supernet"] == "test_mbv3_tiny" and payload["num_classes"] == 10
    assert payload["predictor"].endswith("predictor.pt")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--max-macs", "100"], "no sub-network meets MACs <= 0.0001M"),
        ([], "no budget given"),
        (["--max-latency-ms", "5"], "latency table is needed"),
        (["--max-macs", "400K", "--predictor", "missing.pt"], "no such predictor file"),
        (["--max-macs", "400K", "--supernet", "ofa_mbv3_w12"], "made for supernet"),
        (["--max-macs", "400K", "--supernet", "nope"], "unknown supernet"),
        (["--max-macs", "400K", "--latency-table", "missing.json"], "missing.json"),
    ],
)
def test_errors_are_one_line_and_write_nothing(
    arguments: list[str],
    message: str,
    predictor_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    command = ["search", "--supernet", "test_mbv3_tiny", "--predictor", str(predictor_file)]
    assert main([*command, *arguments, *FAST, "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1, error
    assert not out.exists()


def test_note10_interface(note10: Path, tmp_path: Path) -> None:
    """The command of the issue, with fewer generations: results in reference dict form."""
    predictor = note10.parent / "acc_predictor.pth"
    out = tmp_path / "out"
    command = ["search", "--supernet", "ofa_mbv3_w12", "--predictor", str(predictor)]
    options = ["--latency-table", str(note10), "--max-latency-ms", "15", "25", "--seed", "0"]
    assert main([*command, *options, *FAST, "--out", str(out)]) == 0
    payload = json.loads((out / "search.json").read_text())
    assert payload["resolutions"] == [160, 176, 192, 208, 224]
    for budget, result in zip([15, 25], payload["results"], strict=True):
        assert set(result["arch"]) == {"ks", "e", "d", "r"}
        assert len(result["arch"]["ks"]) == 20 and result["arch"]["r"][0] in range(160, 225, 16)
        assert result["latency_ms"] <= budget
        assert 0.7 < result["predicted_accuracy"] < 0.85
