"""Temporaries of killed processes are removed; missing optional packages never crash late."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from reliability_helpers import TINY_CONFIG, TWO_PHASES, ofa, one_line_error

from onceforall.atomic_files import atomic_write_json
from onceforall.deploy.staging import staged_directory
from onceforall.train.metrics import MetricsLog


def dead_pid() -> int:
    """The pid of a process that has exited."""
    return int(subprocess.run(["sh", "-c", "echo $$"], capture_output=True, check=True).stdout)


def test_a_write_removes_the_temporaries_killed_writers_left(tmp_path: Path) -> None:
    stale = tmp_path / f".table.json.tmp-{dead_pid()}"
    alive = tmp_path / f".table.json.tmp-{os.getppid()}"  # a writer still at work
    other = tmp_path / f".other.json.tmp-{dead_pid()}"
    for path in (stale, alive, other):
        path.write_text("{half")
    atomic_write_json(tmp_path / "table.json", {"done": True})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["table.json", alive.name, other.name]
    )


def test_an_export_removes_the_staging_folder_a_killed_export_left(tmp_path: Path) -> None:
    out = tmp_path / "export"
    stale = tmp_path / f".export.tmp-{dead_pid()}-abcd1234"
    stale.mkdir()
    (stale / "model.onnx").write_bytes(b"half")
    with staged_directory(out) as stage:
        assert stage.name.startswith(f".export.tmp-{os.getpid()}-")
        (stage / "card.json").write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_metrics_keep_each_step_once_and_drop_a_cut_line(tmp_path: Path) -> None:
    log = MetricsLog(tmp_path / "metrics.jsonl")
    for phase_index, step in ((0, 2), (0, 4), (1, 2), (1, 4)):
        log.write("step", phase="x", phase_index=phase_index, step=step)
    log.write("panel", phase="kernel", label="min", accuracy=0.5)
    with log.path.open("a") as handle:
        handle.write('{"event": "step", "phase_ind')  # kill -9 in the middle of a line
    assert log.keep_until(1, 2, ["full", "kernel"]) == 2
    log.write("step", phase="x", phase_index=1, step=4)
    events = [json.loads(line) for line in log.path.read_text().splitlines()]
    assert [(e["phase_index"], e["step"]) for e in events] == [(0, 2), (0, 4), (1, 2), (1, 4)]


def block(monkeypatch: pytest.MonkeyPatch, package: str) -> None:
    """Make `import package` (and its submodules) fail, as if it were not installed."""
    for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, package, None)


def test_training_without_matplotlib_finishes_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    block(monkeypatch, "matplotlib")
    run = tmp_path / "run"
    code, out, err = ofa(capsys, "train", "--config", str(TINY_CONFIG), "--set", TWO_PHASES,
                         "--out", str(run), "--quiet")  # fmt: skip
    assert code == 0 and "finished" in out, err
    assert "matplotlib is not installed" in err and err.count("\n") == 1
    assert (run / "checkpoints" / "phase2-kernel.pt").is_file()
    assert not (run / "plots" / "panel.png").exists()


def test_onnx_is_checked_before_work(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    one_step_run: Path,
) -> None:
    block(monkeypatch, "onnxruntime")
    out = tmp_path / "out"
    one_line_error(capsys, "the onnx format needs onnxruntime", "export", str(one_step_run),
                   "--arch", "r16-k3e3_k3e3-k3e3_k3e3-k3e3_k3e3", "--out", str(out))  # fmt: skip
    table = str(out / "t.json")
    one_line_error(capsys, "the onnxruntime backend needs onnxruntime", "latency", "build",
                   "test_mbv3_tiny", "--backend", "onnxruntime", "--out", table)  # fmt: skip
    one_line_error(capsys, "ofa demo (it exports to ONNX) needs onnxruntime", "demo", "--out",
                   str(out), "--config", str(TINY_CONFIG))  # fmt: skip
    assert not out.exists()


def test_a_resume_keeps_the_curve_measured_before_its_position(tmp_path: Path) -> None:
    log = MetricsLog(tmp_path / "metrics.jsonl")
    for step in (10, 20, 30):
        log.write("curve", phase="full", phase_index=0, step=step, accuracy=0.5)
    assert log.keep_until(0, 25, ["full"]) == 1  # only the curve point after step 25 goes
    steps = [json.loads(line)["step"] for line in log.path.read_text().splitlines()]
    assert steps == [10, 20]
