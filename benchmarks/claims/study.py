"""Shared pieces of the Fashion-MNIST claims study (benchmarks/claims/*.py).

The study's supernet is the small-input OFA-MobileNetV3 w1.0 trained with
benchmarks/claims/fashion_mnist.yaml (all 55,000 training images, 5,000 held out; the
reference's staging and rates, a 4-epoch full phase): hours of CPU, so the runs belong outside
the work tree (`--runs`, default runs/claims), results (JSON + PNG) go to
benchmarks/results/claims/. Every script takes `--config` (the supernet's training config; the
train-alone and ablation runs are derived from it), `--runs`, `--results` and `--threads`.
Every run resumes, so an interrupted script is simply started again (benchmarks/claims/
run_study.sh runs them all in order). Accuracy claims use the Fashion-MNIST test split (10,000
images, never seen by training or by any choice made along the way); choices (predictor
fitting, random-search picks) use the held-out split.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from onceforall.atomic_files import atomic_write_json
from onceforall.errors import OnceForAllError
from onceforall.models.registry import supernet_space
from onceforall.run.checkpoints import load_checkpoint
from onceforall.run.config import run_config_from_dict
from onceforall.run.datasets import build_run_data
from onceforall.run.evaluate_run import evaluate_run
from onceforall.run.evaluation import labelled_panel
from onceforall.train.run import train

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RESULTS = ROOT / "benchmarks" / "results" / "claims"
DEFAULT_RUNS = Path("runs/claims")
DEFAULT_CONFIG = Path(__file__).resolve().parent / "fashion_mnist.yaml"


@dataclass(frozen=True)
class Study:
    """Where one claims study reads its config, keeps its runs and writes its results."""

    config: Path = DEFAULT_CONFIG
    runs: Path = DEFAULT_RUNS
    results: Path = DEFAULT_RESULTS
    threads: int | None = None  # torch threads of every run (None: the config's)

    @property
    def ps(self) -> Path:
        return self.runs / "ps"

    @property
    def dataset(self) -> Path:
        return self.runs / "accuracy" / "dataset.jsonl"

    @property
    def predictor(self) -> Path:
        return self.runs / "predictor" / "predictor.pt"

    @property
    def latency_table(self) -> Path:
        return self.runs / "latency" / "table.json"

    def base_config(self) -> dict[str, Any]:
        """The supernet's training config as plain data (a fresh copy each call)."""
        if not self.config.is_file():
            raise SystemExit(f"error: no config file {self.config}")
        loaded: dict[str, Any] = yaml.safe_load(self.config.read_text())
        if self.threads is not None:  # a setting a resumed run may change
            loaded.setdefault("training", {})["threads"] = self.threads
        return loaded

    def space(self) -> Any:
        """The supernet's space (no weights), with the training resolutions."""
        config = run_config_from_dict(self.base_config())
        space = supernet_space(config.supernet, num_classes=config.num_classes or 10)
        resolutions = config.training.resolutions
        return space if resolutions is None else space.with_resolutions(resolutions)

    def ps_run(self) -> Path:
        """The progressive-shrinking supernet of the study, trained if needed."""
        train_run(self.base_config(), self.ps)
        return self.ps

    def write_result(self, name: str, result: dict[str, Any], start: float) -> Path:
        """Atomically write RESULTS/name with the command line and this call's wall time."""
        path = self.results / name
        path.parent.mkdir(parents=True, exist_ok=True)
        result = {
            "command": command_line(),
            "wall_seconds_this_call": round(time.perf_counter() - start, 1),
            "config": display_path(self.config),
            **result,
        }
        atomic_write_json(path, result)
        print(f"wrote {path}")
        return path

    def save_figure(self, figure: Any, name: str) -> None:
        from onceforall.plots import save_png

        save_png(figure, self.results / name)


def study_parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser with the options every claims script shares."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="supernet config")
    parser.add_argument("--runs", type=Path, default=DEFAULT_RUNS, help="runs folder")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="results folder")
    parser.add_argument("--threads", type=int, default=None, help="torch threads of each run")
    return parser


def study_from_args(args: argparse.Namespace) -> Study:
    return Study(config=args.config, runs=args.runs, results=args.results, threads=args.threads)


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def command_line() -> str:
    """This process's command, as one would type it from the repository root."""
    return shlex.join(["python", display_path(Path(sys.argv[0])), *sys.argv[1:]])


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


def run_wall_seconds(run_dir: Path) -> float:
    """Training wall time from the run's metrics.jsonl timestamps (first to last event)."""
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    times = [json.loads(line)["time"] for line in lines if line.strip()]
    return round(times[-1] - times[0], 1)


def fixed_panel(study: Study) -> list[tuple[str, str, int]]:
    """(label, arch string, MACs) of the five fixed sub-networks of the study's space: min, three
    spread in MACs, max (the training panel; a function of the space alone)."""
    space = study.space()
    return [(label, str(arch), space.macs(arch)) for label, arch in labelled_panel(space)]


def curve(run_dir: Path, phase: str | None = None) -> list[dict[str, Any]]:
    """The run's held-out curve events (evaluation.curve_every_epochs), of one phase or all."""
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines if line.strip()]
    return [
        {"phase": e["phase"], "epoch": e["epoch"], "accuracy": e["accuracy"]}
        for e in events
        if e["event"] == "curve" and (phase is None or e["phase"] == phase)
    ]


def train_images(study: Study) -> int:
    """Images in the study's training split (the full set minus the held-out images)."""
    config = run_config_from_dict(study.base_config())
    return len(build_run_data(config.data, config.seed).train)


def test_accuracies(run_dir: Path, archs: Sequence[str]) -> dict[str, float]:
    """Test-split top-1 (fraction, BN re-calibrated on the run's calibration images) per arch."""
    report = evaluate_run(run_dir, list(archs), split="test")
    return {result["arch"]: result["accuracy"] for result in report["results"]}


def new_figure(width: float, height: float, columns: int = 1) -> tuple[Any, Any]:
    from onceforall.plots import new_axes

    return new_axes(width, height, columns)


def label_axes(axes: Any, xlabel: str, ylabel: str, title: str) -> None:
    """The study's axis labels, small title and legend, the same on every plot."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title, fontsize=9)
    axes.legend(fontsize=8)
