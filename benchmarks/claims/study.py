"""Shared pieces of the Fashion-MNIST claims study (benchmarks/claims/*.py).

The study runs at a small scale: the small-input OFA-MobileNetV3 w1.0 supernet trained with
benchmarks/claims/fashion_mnist.yaml (12,000 training images, 2,000 held out; progressive
shrinking of 1 + 0.5 + 0.5 + 0.5 epochs). Every run lives under runs/claims/ and resumes; every
result is a JSON (+ PNG) under benchmarks/results/claims/. Accuracy claims use the Fashion-MNIST
test split (10,000 images, never seen by training or by any choice made along the way); choices
(predictor fitting, random-search picks) use the held-out split.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from onceforall.atomic_files import atomic_write_json
from onceforall.errors import OnceForAllError
from onceforall.train.checkpoint import load_checkpoint
from onceforall.train.config import run_config_from_dict
from onceforall.train.evaluate_run import evaluate_run
from onceforall.train.evaluation import labelled_panel
from onceforall.train.run import train
from onceforall.train.trained import load_trained_supernet

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results" / "claims"
RUNS = Path("runs/claims")
BASE_CONFIG = Path(__file__).resolve().parent / "fashion_mnist.yaml"


def base_config() -> dict[str, Any]:
    """The study's training config as plain data (a fresh copy each call)."""
    loaded: dict[str, Any] = yaml.safe_load(BASE_CONFIG.read_text())
    return loaded


def is_complete(run_dir: Path) -> bool:
    try:
        return bool(load_checkpoint(run_dir)["complete"])
    except OnceForAllError:
        return False


def train_run(config: dict[str, Any], run_dir: Path) -> None:
    """Train (or resume, or skip when complete) one run from plain config data."""
    if not is_complete(run_dir):
        print(f"[train] {run_dir}")
        train(run_config_from_dict(config), run_dir, resume=True, progress=True)


def ps_run(run_dir: Path) -> Path:
    """The progressive-shrinking supernet of the study (BASE_CONFIG), trained if needed."""
    train_run(base_config(), run_dir)
    return run_dir


def run_wall_seconds(run_dir: Path) -> float:
    """Training wall time from the run's metrics.jsonl timestamps (first to last event)."""
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    times = [json.loads(line)["time"] for line in lines if line.strip()]
    return round(times[-1] - times[0], 1)


def fixed_panel(run_dir: Path) -> list[tuple[str, str, int]]:
    """(label, arch string, MACs) of the five fixed sub-networks of a run's supernet: min, three
    spread in MACs, max (the training panel)."""
    net, _, _ = load_trained_supernet(run_dir)
    return [(label, str(arch), net.space.macs(arch)) for label, arch in labelled_panel(net.space)]


def test_accuracies(run_dir: Path, archs: Sequence[str]) -> dict[str, float]:
    """Test-split top-1 (fraction, BN re-calibrated on the run's calibration images) per arch."""
    report = evaluate_run(run_dir, list(archs), split="test")
    return {result["arch"]: result["accuracy"] for result in report["results"]}


def write_result(name: str, result: dict[str, Any], command: str, start: float) -> Path:
    path = RESULTS / name
    path.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "command": command,
        "wall_seconds_this_call": round(time.perf_counter() - start, 1),
        **result,
    }
    atomic_write_json(path, result)
    print(f"wrote {path}")
    return path


def new_figure(width: float, height: float, columns: int = 1) -> tuple[Any, Any]:
    from onceforall.predict.report import new_axes

    return new_axes(width, height, columns)


def save_figure(figure: Any, name: str) -> None:
    from onceforall.predict.report import save_png

    save_png(figure, RESULTS / name)
