"""End-to-end training on tiny synthetic data: exact resume, refusals, evaluation, files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from onceforall.errors import CheckpointError, ConfigError
from onceforall.run.config import load_run_config
from onceforall.run.evaluate_run import evaluate_run
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


def test_training_learns(tmp_path: Path) -> None:
    # The tiny schedule's 1-epoch phases (12 steps) are too short to learn reliably; 4 epochs of
    # the full network are not (0.91 held-out top-1 when written).
    config = load_run_config(CONFIG_PATH, ["phases=[" + FULL_PHASE_4_EPOCHS + "]"])
    train(config, tmp_path, progress=False)
    report = evaluate_run(tmp_path)
    largest = report["results"][-1]
    assert largest["label"] == "max"
    assert largest["accuracy"] > 0.7  # 4 classes: chance is 0.25, 32 held-out images
    assert (tmp_path / "eval-holdout.json").is_file()


FULL_PHASE_4_EPOCHS = (
    "{name: full, epochs: 4, lr: 0.05, distill: false,"
    " restrict: {kernel_sizes: [7], expand_ratios: [6], depths: [4]}}"
)


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


def test_init_checkpoint_starts_from_another_runs_phase(straight_run: Path, tmp_path: Path) -> None:
    start = straight_run / "checkpoints" / "phase1-full.pt"
    overrides = [
        f"training.init_checkpoint={start}",
        "phases=[{name: elastic, epochs: 0.5, lr: 0.01, subnets_per_step: 2}]",
        "evaluation.curve_every_epochs=0.25",
    ]
    config = load_run_config(CONFIG_PATH, overrides)
    assert config.teacher_phase_index is None
    begun = train(config, tmp_path / "run", progress=False, max_steps=1)
    assert not begun.position.complete
    saved = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    inherited = torch.load(start, weights_only=True)
    for key, value in inherited["teacher"].items():  # the teacher is the full phase's
        assert torch.equal(saved["teacher"][key], value), key
    assert train(config, tmp_path / "run", progress=False, resume=True).position.complete
    events = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    curve = [e for e in events if e["event"] == "curve"]
    # 0.5 epochs of 10 steps: 5 steps; every round(2.5) = 2 steps, and the last step
    assert [e["step"] for e in curve] == [2, 4, 5]
    assert all(e["phase"] == "elastic" and 0 <= e["accuracy"] <= 1 for e in curve)


def test_init_checkpoint_must_match_the_supernet(straight_run: Path, tmp_path: Path) -> None:
    start = straight_run / "checkpoints" / "phase1-full.pt"
    config = load_run_config(
        CONFIG_PATH, [f"training.init_checkpoint={start}", "supernet=test_proxyless_tiny"]
    )
    with pytest.raises(CheckpointError, match=r"init_checkpoint .* holds test_mbv3_tiny"):
        train(config, tmp_path, progress=False)
    with pytest.raises(ConfigError, match="exclude each other"):
        load_run_config(
            CONFIG_PATH, [f"training.init_checkpoint={start}", "training.teacher_phase=full"]
        )


def test_a_setting_added_since_the_run_started_does_not_block_resume(tmp_path: Path) -> None:
    config = load_run_config(CONFIG_PATH)
    train(config, tmp_path, progress=False, max_steps=2)
    last = tmp_path / "checkpoints" / "last.pt"
    payload = torch.load(last, weights_only=True)
    del payload["config"]["training"]["teacher_bn"]  # as saved by a version without the setting
    torch.save(payload, last)
    assert train(config, tmp_path, progress=False, resume=True, max_steps=1).position.step == 3
    changed = load_run_config(CONFIG_PATH, ["training.teacher_bn=eval"])
    with pytest.raises(ConfigError, match="teacher_bn"):
        train(changed, tmp_path, progress=False, resume=True, max_steps=1)
