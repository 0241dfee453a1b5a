"""End-to-end training on tiny synthetic data: exact resume, refusals, evaluation, files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from onceforall.errors import CheckpointError, ConfigError
from onceforall.train.config import load_run_config
from onceforall.train.evaluate_run import evaluate_run
from onceforall.train.run import train

CONFIG_PATH = Path(__file__).parents[3] / "configs" / "test_tiny_synthetic.yaml"


def _model(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoints" / "last.pt", weights_only=True)["model"]


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("straight")
    summary = train(load_run_config(CONFIG_PATH), run, progress=False)
    assert summary.position.complete
    return run


def test_resume_is_exact(straight_run: Path, tmp_path: Path) -> None:
    config = load_run_config(CONFIG_PATH)
    # stop inside phase 2, again inside phase 2, then finish: 13 + 5 + the rest
    assert not train(config, tmp_path, progress=False, max_steps=13).position.complete
    assert train(config, tmp_path, progress=False, resume=True, max_steps=5).position.step == 8
    assert train(config, tmp_path, progress=False, resume=True).position.complete
    straight, resumed = _model(straight_run), _model(tmp_path)
    assert straight.keys() == resumed.keys()
    for key in straight:
        assert torch.equal(straight[key], resumed[key]), key


def test_run_directory_contents(straight_run: Path) -> None:
    assert (straight_run / "config.yaml").is_file()
    assert (straight_run / "plots" / "panel.png").stat().st_size > 1000
    events = [
        json.loads(line) for line in (straight_run / "metrics.jsonl").read_text().splitlines()
    ]
    panel = [e for e in events if e["event"] == "panel"]
    assert {e["phase"] for e in panel} == {"full", "kernel", "depth", "expand"}
    assert {e["label"] for e in panel} == {"min", "mid1", "mid2", "mid3", "max"}
    assert all(0.0 <= e["accuracy"] <= 1.0 for e in panel)
    steps = [e for e in events if e["event"] == "step"]
    assert steps and all(e["loss"] > 0 for e in steps)
    checkpoints = sorted(p.name for p in (straight_run / "checkpoints").iterdir())
    assert checkpoints == [
        "last.pt",
        "phase1-full.pt",
        "phase2-kernel.pt",
        "phase3-depth.pt",
        "phase4-expand.pt",
    ]


def test_training_learns(straight_run: Path) -> None:
    report = evaluate_run(straight_run)
    best = max(r["accuracy"] for r in report["results"])
    assert best > 0.5  # 4 classes: chance is 0.25
    assert (straight_run / "eval-holdout.json").is_file()


def test_existing_run_needs_resume(straight_run: Path) -> None:
    with pytest.raises(CheckpointError, match="already holds a run; pass --resume"):
        train(load_run_config(CONFIG_PATH), straight_run, progress=False)


def test_resume_refuses_a_changed_config(tmp_path: Path) -> None:
    train(load_run_config(CONFIG_PATH), tmp_path, progress=False, max_steps=2)
    changed = load_run_config(CONFIG_PATH, ["phases.kernel.lr=0.5", "training.threads=2"])
    with pytest.raises(ConfigError, match=r"differs .* in: phases\.1\.lr$"):
        train(changed, tmp_path, progress=False, resume=True)


def test_resume_refuses_another_supernet(tmp_path: Path) -> None:
    train(load_run_config(CONFIG_PATH), tmp_path, progress=False, max_steps=2)
    other = load_run_config(CONFIG_PATH, ["num_classes=7"])
    with pytest.raises(CheckpointError, match="checkpoint of test_mbv3_tiny with 4 classes"):
        train(other, tmp_path, progress=False, resume=True)


def test_eval_of_a_directory_without_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="holds no checkpoint"):
        evaluate_run(tmp_path)
