"""Fine-tuning a sub-network: exact resume, accuracy before/after, files, errors, export of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from tiny_deploy import ARCH, OTHER_ARCH, OUTSIDE_ARCH, fast_request

from onceforall.cli.main import main
from onceforall.deploy.export import export_subnet
from onceforall.errors import ArchError, CheckpointError, ConfigError
from onceforall.train.finetune import finetune
from onceforall.train.finetune_config import FinetuneConfig

EPOCHS = 2


def final_state(directory: Path) -> dict[str, torch.Tensor]:
    payload = torch.load(directory / "model.pt", weights_only=True)
    assert payload["arch"] == ARCH and payload["supernet"] == "test_mbv3_tiny"
    state: dict[str, torch.Tensor] = payload["state_dict"]
    return state


@pytest.fixture(scope="module")
def straight(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("finetune") / "straight"
    summary = finetune(FinetuneConfig(str(tiny_run), ARCH, EPOCHS), out, progress=False)
    assert summary.complete and summary.step == summary.steps
    assert summary.accuracy_after is not None
    return out


def test_files_and_accuracy(straight: Path, tiny_run: Path) -> None:
    names = sorted(p.name for p in straight.iterdir())
    assert names == ["accuracy.json", "checkpoints", "finetune.yaml", "metrics.jsonl", "model.pt"]
    settings = yaml.safe_load((straight / "finetune.yaml").read_text())
    assert settings["finetune"]["arch"] == ARCH and settings["finetune"]["epochs"] == EPOCHS
    assert settings["finetune"]["run"] == str(tiny_run.resolve())
    assert settings["finetune"]["lr"] == 0.05  # the run's last phase rate
    accuracy = json.loads((straight / "accuracy.json").read_text())
    assert accuracy["split"] == "holdout" and 0 <= accuracy["before"] <= 1
    events = [json.loads(line) for line in (straight / "metrics.jsonl").read_text().splitlines()]
    stages = [e["stage"] for e in events if e["event"] == "evaluate"]
    assert stages == ["before", "epoch 1", "after"]
    evaluations = {e["stage"]: e["accuracy"] for e in events if e["event"] == "evaluate"}
    assert (evaluations["before"], evaluations["after"]) == (accuracy["before"], accuracy["after"])
    steps = [e for e in events if e["event"] == "step"]
    assert steps and all(e["loss"] > 0 for e in steps)
    assert steps[-1]["lr"] < steps[0]["lr"]  # cosine decay


def test_resume_is_exact(straight: Path, tiny_run: Path, tmp_path: Path) -> None:
    """N epochs straight == stopped after 1 epoch and a few steps, then resumed."""
    config = FinetuneConfig(str(tiny_run), ARCH, EPOCHS)
    steps = finetune(config, tmp_path, progress=False, max_steps=1).steps
    first = finetune(config, tmp_path, progress=False, resume=True, max_steps=steps // 2 + 2)
    assert not first.complete and first.accuracy_after is None
    assert first.step == steps // 2 + 3
    resumed = finetune(config, tmp_path, progress=False, resume=True)
    assert resumed.complete
    expected, found = final_state(straight), final_state(tmp_path)
    assert expected.keys() == found.keys()
    assert all(torch.equal(expected[k], found[k]) for k in expected)
    for name in ("accuracy.json", "finetune.yaml"):
        assert (tmp_path / name).read_text() == (straight / name).read_text()
    again = finetune(config, tmp_path, progress=False, resume=True)  # complete: nothing to do
    assert again.complete and again.accuracy_after == resumed.accuracy_after


def test_refusals(straight: Path, tiny_run: Path, tmp_path: Path) -> None:
    config = FinetuneConfig(str(tiny_run), ARCH, EPOCHS)
    with pytest.raises(CheckpointError, match="already holds a fine-tuning; pass --resume"):
        finetune(config, straight, progress=False)
    with pytest.raises(ConfigError, match=r"differs .* in: finetune\.epochs"):
        finetune(FinetuneConfig(str(tiny_run), ARCH, 3), straight, progress=False, resume=True)
    with pytest.raises(CheckpointError, match="holds no fine-tuning; choose another --out"):
        finetune(config, tiny_run, progress=False)
    with pytest.raises(ArchError, match="kernel_size=9 not in"):
        finetune(FinetuneConfig(str(tiny_run), OUTSIDE_ARCH, 1), tmp_path / "x", progress=False)
    with pytest.raises(CheckpointError, match="holds no checkpoint"):
        finetune(FinetuneConfig(str(tmp_path), ARCH, 1), tmp_path / "y", progress=False)
    with pytest.raises(ConfigError, match="epochs must be a positive integer"):
        FinetuneConfig(str(tiny_run), ARCH, 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_export_accepts_the_fine_tuned_network(
    straight: Path, tiny_run: Path, tmp_path: Path
) -> None:
    card = export_subnet(fast_request(tmp_path / "out", source=straight, formats=("onnx",)))
    assert card.arch == ARCH and card.source_kind == "fine-tuned sub-network"
    assert card.accuracy_split == "holdout" and card.source == str(straight)
    assert card.checkpoint == f"fine-tuned for {EPOCHS} epochs from {tiny_run.resolve()}"
    accuracy = json.loads((straight / "accuracy.json").read_text())
    assert card.accuracy == pytest.approx(accuracy["after"])  # both BN re-calibrated the same way
    with pytest.raises(ArchError, match=r"was fine-tuned for .*; leave out --arch"):
        export_subnet(fast_request(tmp_path / "other", source=straight, arch=OTHER_ARCH))
    with pytest.raises(CheckpointError, match="a fine-tuning is exported by its directory"):
        export_subnet(
            fast_request(tmp_path / "other", source=straight / "checkpoints" / "last.pt", arch=ARCH)
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_unfinished_fine_tuning_cannot_be_exported(tiny_run: Path, tmp_path: Path) -> None:
    finetune(FinetuneConfig(str(tiny_run), ARCH, 1), tmp_path / "ft", progress=False, max_steps=2)
    with pytest.raises(CheckpointError, match="fine-tuning has not finished"):
        export_subnet(fast_request(tmp_path / "out", source=tmp_path / "ft"))
    assert not (tmp_path / "out").exists()


def test_cli(capsys: pytest.CaptureFixture[str], tiny_run: Path, tmp_path: Path) -> None:
    args = ["finetune", str(tiny_run), "--arch", OTHER_ARCH, "--epochs", "1", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "ft"), "--max-steps", "3"]) == 0
    assert "stopped at step 3/" in capsys.readouterr().out
    assert main([*args, "--out", str(tmp_path / "ft"), "--resume"]) == 0
    assert "held-out top-1" in capsys.readouterr().out
    assert main([*args, "--out", str(tmp_path / "ft")]) == 2
    err = capsys.readouterr().err
    assert "already holds a fine-tuning" in err and err.count("\n") == 1
