"""Progressive shrinking on Fashion-MNIST with configs/ps_fashion_mnist.yaml, timed and summarized.

    python benchmarks/bench_ps_fashion_mnist.py [--out runs/fmnist]

Trains (or resumes) the run, then writes benchmarks/results/ps_fashion_mnist.json: the panel's
held-out accuracy after every phase, each phase's wall time (from the run's metrics.jsonl
timestamps) and the total. Run it on an otherwise idle machine: the wall time is a result.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from onceforall.atomic_files import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "configs/ps_fashion_mnist.yaml"


def summarize(run: Path) -> dict[str, Any]:
    events = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line]
    start = events[0]["time"]
    phases: list[dict[str, Any]] = []
    previous_end = start
    for event in events:
        if event["event"] != "panel":
            continue
        if not phases or phases[-1]["phase"] != event["phase"]:
            phases.append({"phase": event["phase"], "panel": {}})
        phases[-1]["panel"][event["label"]] = {
            "arch": event["arch"],
            "accuracy": event["accuracy"],
            "macs": event["macs"],
        }
        phases[-1]["end"] = event["time"]
    for phase in phases:
        phase["minutes"] = round((phase["end"] - previous_end) / 60, 2)
        previous_end = phase.pop("end")
    config = (run / "config.yaml").read_text()
    import yaml

    settings = yaml.safe_load(config)
    from onceforall.run.config import run_config_from_dict
    from onceforall.run.datasets import build_run_data

    resolved = run_config_from_dict(settings)
    data = build_run_data(resolved.data, resolved.seed)
    return {
        "command": f"python benchmarks/bench_ps_fashion_mnist.py --out {run}",
        "config": CONFIG,
        "supernet": resolved.supernet,
        "train_images": len(data.train),
        "holdout_images": len(data.holdout),
        "phases": phases,
        "wall_minutes": round((previous_end - start) / 60, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("runs/fmnist"))
    parser.add_argument(
        "--result", type=Path, default=ROOT / "benchmarks" / "results" / "ps_fashion_mnist.json"
    )
    args = parser.parse_args()
    command = [
        sys.executable,
        "-m",
        "onceforall",
        "train",
        "--config",
        str(ROOT / CONFIG),
        "--out",
        str(args.out),
    ]
    if (args.out / "checkpoints" / "last.pt").is_file():
        command.append("--resume")
    subprocess.run(command, check=True)
    summary = summarize(args.out)
    atomic_write_json(args.result, summary)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
