"""`ofa predictor fit / report / predict` end to end on small data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from onceforall.arch.mbv3 import MBv3Space
from onceforall.cli.main import main
from onceforall.predict.accuracy import load_predictor
from onceforall.predict.records import AccuracyRecords


def write_dataset(path: Path, space: MBv3Space, n: int) -> Path:
    population = space.sample_population(n, np.random.default_rng(0))
    macs = space.macs_population(population).astype(float)
    accuracy = 0.5 + 0.3 * (macs - macs.min()) / (macs.max() - macs.min())
    records = AccuracyRecords(population, accuracy)
    lines = [
        json.dumps({"arch": str(arch), "accuracy": float(acc)})
        for arch, acc in zip(space.from_population(records.population), accuracy, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_fit_writes_predictor_report_and_plot(
    tiny_space: MBv3Space, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = write_dataset(tmp_path / "acc.jsonl", tiny_space, 120)
    out = tmp_path / "predictor"
    args = ["predictor", "fit", str(dataset), "--supernet", "test_mbv3_tiny", "--out", str(out)]
    fit = ["--hidden", "16", "--epochs", "5", "--quiet"]
    assert main([*args, *fit]) == 0
    assert {p.name for p in out.iterdir()} == {
        "predictor.pt",
        "report.json",
        "predicted_vs_measured.png",
    }
    report = json.loads((out / "report.json").read_text())
    assert report["held_out"]["n"] == 24  # 20% of 120
    assert report["fit"]["hidden_sizes"] == [16]
    assert len(report["history"]) == report["fit"]["max_epochs"] == 5
    assert load_predictor(out / "predictor.pt").supernet == "test_mbv3_tiny"
    assert '"kendall_tau"' in capsys.readouterr().out

    report_dir = tmp_path / "report"
    assert (
        main(
            [
                "predictor",
                "report",
                str(dataset),
                "--predictor",
                str(out / "predictor.pt"),
                "--supernet",
                "test_mbv3_tiny",
                "--out",
                str(report_dir),
            ]
        )
        == 0
    )
    assert json.loads((report_dir / "report.json").read_text())["held_out"]["n"] == 120
    capsys.readouterr()

    arch = str(tiny_space.max())
    command = ["predictor", "predict", arch, "--predictor", str(out / "predictor.pt")]
    assert main([*command, "--supernet", "test_mbv3_tiny", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed[0]["arch"] == arch and 0.0 < printed[0]["predicted_accuracy"] < 1.5


def test_released_predictor_predicts_like_the_reference_tutorial(
    released_predictor_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    max_arch = "r224-" + "-".join(["_".join(["k7e6"] * 4)] * 5)
    command = ["predictor", "predict", max_arch, "--predictor", str(released_predictor_path)]
    assert main([*command, "--supernet", "ofa_mbv3_w12", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["predicted_accuracy"] > 0.8


def test_errors_exit_2_and_write_nothing(
    tiny_space: MBv3Space, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    base = ["predictor", "fit", "--supernet", "test_mbv3_tiny", "--out", str(out), "--quiet"]
    assert main([*base[:2], str(tmp_path / "missing.jsonl"), *base[2:]]) == 2
    assert "no such accuracy dataset" in capsys.readouterr().err
    dataset = write_dataset(tmp_path / "acc.jsonl", tiny_space, 30)
    assert main([*base[:2], str(dataset), *base[2:], "--supernet", "ofa_mbv3_w12"]) == 2
    assert "not in" in capsys.readouterr().err  # the arch strings do not fit that space
    assert main([*base[:2], str(dataset), *base[2:], "--epochs", "0"]) == 2
    assert not out.exists()
    assert (
        main(["predictor", "predict", "r16-k3e3", "--predictor", str(dataset), "--supernet", "x"])
        == 2
    )
