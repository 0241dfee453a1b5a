"""Which batch norm should the distillation teacher use? (training.teacher_bn, issue 12)

    python benchmarks/bench_teacher_bn.py [--runs runs/teacher_bn] [--threads 1]

One full-network phase of the small-input OFA-MobileNetV3 on 12,000 Fashion-MNIST images
(1 epoch, shared), then the same elastic phases (the reference's staging and ratios, scaled to
the 1-epoch full phase) three times, once per teacher batch-norm mode, each started from the full
phase's checkpoint (training.init_checkpoint). Reported:

- the teacher itself per resolution, on the 2,000 held-out images in batches of the training
  batch size: top-1 and cross entropy of its soft targets against the labels;
- the students: held-out top-1 of the five panel sub-networks after the elastic phases (BN
  re-calibrated), and their mean.

Resumable (runs are skipped when complete). Writes benchmarks/results/teacher_bn.json.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from onceforall.atomic_files import atomic_write_json
from onceforall.run.checkpoints import load_checkpoint
from onceforall.run.config import TeacherBatchNorm, run_config_from_dict
from onceforall.run.datasets import build_run_data
from onceforall.run.evaluate_run import evaluate_run
from onceforall.run.evaluation import Evaluator
from onceforall.run.trained import load_trained_supernet
from onceforall.train.run import train
from onceforall.train.teacher import Teacher

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "benchmarks" / "results" / "teacher_bn.json"
MODES: tuple[TeacherBatchNorm, ...] = ("recalibrated", "batch", "eval")

CONFIG: dict[str, Any] = {
    "supernet": "ofa_mbv3_w10_small_input",
    "seed": 0,
    "data": {
        "dataset": "fashion_mnist",
        "holdout": 2000,
        "train_subset": 12000,
        "calibration_images": 500,
        "augment": {"flip": True, "pad": 2},
    },
    "training": {"batch_size": 64, "threads": 1, "dropout": 0.1, "checkpoint_every": 50},
    "evaluation": {"batch_size": 500},
}
FULL = {
    "name": "full",
    "epochs": 1.0,
    "lr": 0.08125,
    "warmup_epochs": 0.05,
    "distill": False,
    "restrict": {"kernel_sizes": [7], "expand_ratios": [6], "depths": [4]},
}
ELASTIC = [  # the reference's phases relative to a 1-epoch full phase (120/180, 25/180)
    {"name": "kernel", "epochs": 0.667, "lr": 0.03, "warmup_epochs": 0.028,
     "restrict": {"kernel_sizes": [3, 5, 7], "expand_ratios": [6], "depths": [4]}},
    {"name": "depth_1", "epochs": 0.139, "lr": 0.0025, "subnets_per_step": 2,
     "restrict": {"expand_ratios": [6], "depths": [3, 4]}},
    {"name": "depth_2", "epochs": 0.667, "lr": 0.0075, "warmup_epochs": 0.028,
     "subnets_per_step": 2, "restrict": {"expand_ratios": [6], "depths": [2, 3, 4]}},
    {"name": "expand_1", "epochs": 0.139, "lr": 0.0025, "subnets_per_step": 4,
     "restrict": {"expand_ratios": [4, 6]}, "reorder_channels": True},
    {"name": "expand_2", "epochs": 0.667, "lr": 0.0075, "warmup_epochs": 0.028,
     "subnets_per_step": 4, "restrict": {"expand_ratios": [3, 4, 6]}, "reorder_channels": True},
]  # fmt: skip


def config(threads: int, phases: list[dict[str, Any]], **training: Any) -> dict[str, Any]:
    result = copy.deepcopy(CONFIG)
    result["training"].update(threads=threads, **training)
    result["phases"] = phases
    return result


def train_if_needed(data: dict[str, Any], run_dir: Path) -> None:
    try:
        if load_checkpoint(run_dir)["complete"]:
            return
    except Exception:  # no checkpoint yet
        pass
    train(run_config_from_dict(data), run_dir, resume=True, progress=True)


@torch.no_grad()
def teacher_quality(full_run: Path, mode: TeacherBatchNorm) -> dict[str, Any]:
    """Top-1 and soft-target cross entropy of the full phase's teacher, per resolution."""
    net, run_config, payload = load_trained_supernet(full_run)
    data = build_run_data(run_config.data, run_config.seed)
    evaluator = Evaluator.for_run(run_config, data)
    model = net.static(net.space.max())
    model.load_state_dict(payload["teacher"])
    teacher = Teacher(model, mode, evaluator.stream_calibration_batches)
    batch = run_config.training.batch_size
    rows = {}
    for resolution in net.space.resolutions:
        correct, loss, total = 0, 0.0, 0
        for images, labels in evaluator.eval_batches(resolution):
            for start in range(0, len(labels), batch):
                logits = teacher(images[start : start + batch])
                target = labels[start : start + batch]
                correct += int((logits.argmax(1) == target).sum())
                loss += float(F.cross_entropy(logits, target, reduction="sum"))
                total += len(target)
        rows[str(resolution)] = {"top1": correct / total, "cross_entropy": loss / total}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=Path, default=Path("runs/teacher_bn"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    start = time.perf_counter()
    full_run = args.runs / "full"
    train_if_needed(config(args.threads, [FULL]), full_run)
    start_from = str(full_run / "checkpoints" / "phase1-full.pt")
    results: dict[str, Any] = {}
    for mode in MODES:
        run_dir = args.runs / mode
        phases = copy.deepcopy(ELASTIC)
        data = config(args.threads, phases, teacher_bn=mode, init_checkpoint=start_from)
        train_if_needed(data, run_dir)
        panel = evaluate_run(run_dir)["results"]
        results[mode] = {
            "teacher": teacher_quality(full_run, mode),
            "students_heldout_top1": {row["label"]: row["accuracy"] for row in panel},
            "students_mean_top1": float(np.mean([row["accuracy"] for row in panel])),
        }
        print(mode, results[mode]["students_mean_top1"])
    best = max(MODES[:2], key=lambda m: results[m]["students_mean_top1"])
    atomic_write_json(
        RESULT,
        {
            "command": "python benchmarks/bench_teacher_bn.py "
            f"--runs {args.runs} --threads {args.threads}",
            "machine": "2-core CPU, other jobs running (accuracies do not depend on it)",
            "config": {**CONFIG, "phases": [FULL, *ELASTIC]},
            "wall_seconds_this_call": round(time.perf_counter() - start, 1),
            "modes": results,
            "better_of_batch_and_recalibrated": best,
        },
    )
    print(f"wrote {RESULT}")


if __name__ == "__main__":
    main()
