"""`ofa demo` end to end on the tiny supernet and synthetic data (the real one takes minutes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from onceforall.cli.main import main

TINY = Path(__file__).parents[3] / "configs" / "test_tiny_synthetic.yaml"


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny test schedule, two phases (full + everything elastic)."""
    text = TINY.read_text().split("phases:")[0] + (
        "phases:\n"
        "  - {name: full, epochs: 1, lr: 0.05, distill: false,\n"
        "     restrict: {kernel_sizes: [7], expand_ratios: [6], depths: [4]}}\n"
        "  - {name: elastic, epochs: 1, lr: 0.03, subnets_per_step: 2}\n"
    )
    path = tmp_path_factory.mktemp("config") / "demo.yaml"
    path.write_text(text)
    return path


def test_demo_runs_and_resumes(
    demo_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "demo",
        "--config",
        str(demo_config),
        "--out",
        str(tmp_path),
        "--dataset-size",
        "16",
        "--threads",
        "1",
        "--quiet",
    ]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "pred. ms" in first and "test top-1 %" in first
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert len(summary["rows"]) == 3
    budgets = [row["budget_ms"] for row in summary["rows"]]
    assert budgets == sorted(budgets)
    for row in summary["rows"]:
        assert row["predicted_latency_ms"] <= row["budget_ms"] + 1e-9
        assert 0.0 <= row["measured_accuracy"] <= 1.0 and row["measured_latency_ms"] > 0
    assert (tmp_path / "pareto.png").stat().st_size > 1000
    for index in (1, 2, 3):
        assert (tmp_path / "export" / f"budget{index}" / "model.onnx").is_file()
    # a second run skips every finished step
    assert main(args) == 0
    again = json.loads((tmp_path / "summary.json").read_text())
    skipped = {step["step"]: step["skipped"] for step in again["steps"]}
    assert skipped["train supernet"] and skipped["latency table"] and skipped["search"]
    assert all(skipped[f"export budget {i}"] for i in (1, 2, 3))
    assert again["rows"] == summary["rows"]


def test_demo_without_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        TINY.read_text().replace(
            "dataset: synthetic", "dataset: fashion_mnist\n  path: /nonexistent"
        )
    )
    assert main(["demo", "--config", str(config), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "dataset-fashion-mnist" in err and err.count("\n") == 1
