"""Multi-process training (2 gloo ranks under torchrun) and clean stops on SIGINT/SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from onceforall.run.checkpoints import load_checkpoint

CONFIG = Path(__file__).parents[3] / "configs" / "test_tiny_synthetic.yaml"
# Two short phases (full + kernel: 8 steps) without augmentation randomness, so the images of
# a global batch are the same whether one process or two make them.
SHORT = [
    "--set",
    "phases=["
    "{name: full, epochs: 0.4, lr: 0.05, distill: false,"
    " restrict: {kernel_sizes: [7], expand_ratios: [6], depths: [4]}},"
    "{name: kernel, epochs: 0.4, lr: 0.03,"
    " restrict: {kernel_sizes: [3, 5, 7], expand_ratios: [6], depths: [4]}}]",
    "--set",
    "data.augment.pad=0",
    "--set",
    "data.augment.flip=false",
    "--set",
    "training.sync_batch_norm=true",
    "--quiet",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ofa(*args: str) -> list[str]:
    return [sys.executable, "-m", "onceforall", *args]


def test_two_ranks_match_one_process_with_the_combined_batch(tmp_path: Path) -> None:
    single, double = tmp_path / "single", tmp_path / "double"
    subprocess.run(
        _ofa(
            "train",
            "--config",
            str(CONFIG),
            "--out",
            str(single),
            *SHORT,
            "--set",
            "training.batch_size=16",
        ),
        check=True,
        capture_output=True,
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_addr",
            "127.0.0.1",
            "--master_port",
            str(_free_port()),
            "-m",
            "onceforall",
            "train",
            "--config",
            str(CONFIG),
            "--out",
            str(double),
            *SHORT,
            "--set",
            "training.batch_size=8",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    events = [json.loads(line) for line in (double / "metrics.jsonl").read_text().splitlines()]
    spreads = [e["parameter_spread"] for e in events if e["event"] == "rank_sync"]
    assert spreads == [0.0, 0.0]  # the ranks hold identical parameters after each phase
    one = load_checkpoint(single)["model"]
    two = load_checkpoint(double)["model"]
    for key in one:
        if key.endswith("num_batches_tracked"):
            continue
        torch.testing.assert_close(two[key], one[key], atol=1e-4, rtol=1e-4, msg=key)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_saves_a_checkpoint_and_stops_cleanly(tmp_path: Path, signum: int) -> None:
    run = tmp_path / "run"
    process = subprocess.Popen(
        _ofa(
            "train",
            "--config",
            str(CONFIG),
            "--out",
            str(run),
            "--quiet",
            "--set",
            "phases.full.epochs=100",
            "--set",
            "training.log_every=1",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    metrics = run / "metrics.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (metrics.is_file() and metrics.read_text().strip()):
        time.sleep(0.1)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "interrupted at phase full step" in stderr and "--resume" in stderr
    assert "Traceback" not in stderr and stderr.count("\n") == 1
    position = load_checkpoint(run)
    assert position["phase_index"] == 0 and position["step"] >= 1
