"""No phase checkpoint is lost, whatever write a kill interrupts; resume is exact and tidy."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from reliability_helpers import TINY_CONFIG, TWO_PHASES

from onceforall.run.config import RunConfig, load_run_config
from onceforall.train import checkpoint
from onceforall.train.run import train

PHASE_FILES = ["phase1-full.pt", "phase2-kernel.pt"]
# checkpoints only at the phase ends: the writes are phase1, last, phase2, last
WRITES = 4


class SimulatedKill(BaseException):
    """Stands for kill -9: not an Exception, so nothing in the library handles it."""


def two_phase_config() -> RunConfig:
    return load_run_config(TINY_CONFIG, [TWO_PHASES, "training.checkpoint_every=1000"])


def model(run: Path) -> dict[str, torch.Tensor]:
    payload = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert payload["complete"]
    return dict(payload["model"])


def dead_pid() -> int:
    """The pid of a process that has exited."""
    return int(subprocess.run(["sh", "-c", "echo $$"], capture_output=True, check=True).stdout)


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    run = tmp_path_factory.mktemp("straight")
    assert train(two_phase_config(), run, progress=False).position.complete
    return model(run)


def killing_after(writes: int, save: Callable[..., Any]) -> Callable[..., Any]:
    done = [0]

    def save_or_die(*args: Any, **kwargs: Any) -> Any:
        if done[0] == writes:
            raise SimulatedKill
        done[0] += 1
        return save(*args, **kwargs)

    return save_or_die


@pytest.mark.parametrize("writes", range(WRITES))
def test_a_kill_at_any_checkpoint_write_loses_nothing(
    writes: int,
    straight: dict[str, torch.Tensor],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = two_phase_config()
    with monkeypatch.context() as patch:
        patch.setattr(
            checkpoint, "atomic_torch_save", killing_after(writes, checkpoint.atomic_torch_save)
        )
        with pytest.raises(SimulatedKill):
            train(config, tmp_path, progress=False)
    # what kill -9 during a write leaves: a temporary of the dead process
    leftover = tmp_path / "checkpoints" / f".last.pt.tmp-{dead_pid()}"
    leftover.parent.mkdir(exist_ok=True)
    leftover.write_bytes(b"half a checkpoint")

    assert train(config, tmp_path, progress=False, resume=True).position.complete
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["last.pt", *PHASE_FILES]
    resumed = model(tmp_path)
    assert all(torch.equal(straight[key], resumed[key]) for key in straight)
    events = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    steps = [(e["phase_index"], e["step"]) for e in events if e["event"] == "step"]
    panel = [(e["phase"], e["label"]) for e in events if e["event"] == "panel"]
    assert steps == [(0, 2), (1, 2)]  # logged every 2 steps: each once, in order
    assert len(panel) == len(set(panel)) == 10  # 5 sub-networks after each of 2 phases


def test_a_missing_phase_checkpoint_is_rebuilt_on_resume(tmp_path: Path) -> None:
    config = two_phase_config()
    assert not train(config, tmp_path, progress=False, max_steps=2).position.complete
    phase1 = tmp_path / "checkpoints" / PHASE_FILES[0]
    expected = torch.load(phase1, weights_only=True)
    phase1.unlink()  # as a run of an older version, killed between the two writes, left it
    assert train(config, tmp_path, progress=False, resume=True).position.complete
    rebuilt = torch.load(phase1, weights_only=True)
    assert rebuilt["phase_index"] == 1 and rebuilt["step"] == 0
    assert all(torch.equal(expected["model"][k], rebuilt["model"][k]) for k in expected["model"])
