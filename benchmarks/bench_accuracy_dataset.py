"""Seconds per sub-network of `ofa predictor dataset`: the straightforward way and the library's.

    python benchmarks/bench_accuracy_dataset.py [--run runs/bench_accuracy_dataset] [--archs 24]
        [--threads 1 2]

The run: the small-input OFA-MobileNetV3 trained briefly on 3,000 Fashion-MNIST images (trained
into --run first if it holds no finished run; about a minute), with the demo's data sizes
(onceforall/demo/fashion_mnist.yaml): 300 calibration images, 1,000 held-out images, evaluation
batch 500, 24-32 px. The sub-networks: the first --archs candidates of the accuracy dataset
(`predict.dataset.candidates`, seed 0). For each, on the same cached calibration and held-out
tensors (prepared before the timings, once per resolution, as the dataset does):

- straightforward: what `Evaluator.evaluate` did before issue 17 (static copy, channels_last,
  `recalibrate_bn` on the calibration batches, held-out top-1 in whole batches of 500);
- evaluate: `Evaluator.evaluate` now (chunked evaluation, folded BN, matrix products for pooled
  features, in-place activations: nn/inference.py);
- dataset: the same inside `keep_large_blocks()` (malloc_tuning.py), as `ofa predictor dataset`
  runs it.

Each way runs in its own worker process (the allocator setting is process-wide, and a process of
its own is what the command is), all loaded alike; the parent asks them in turn, one at a time,
per sub-network in rotating order, so drift in the load of a shared machine hits all alike. Wall
seconds and CPU seconds of the worker (user + system) are both recorded: on a loaded machine the
CPU seconds are the steadier figure. Once per --threads value (the demo's config uses 2).
Writes benchmarks/results/accuracy_dataset.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import resource
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import torch

from onceforall.atomic_files import atomic_write_json
from onceforall.latency.measure import machine_description
from onceforall.malloc_tuning import keep_large_blocks
from onceforall.nn.bn import recalibrate_bn
from onceforall.nn.inference import forward_chunk_size
from onceforall.nn.memory_format import to_channels_last
from onceforall.predict.dataset import candidates, heldout_evaluator
from onceforall.run.checkpoints import load_checkpoint
from onceforall.run.config import run_config_from_dict
from onceforall.run.datasets import build_run_data
from onceforall.run.evaluation import Evaluator
from onceforall.run.trained import load_trained_supernet
from onceforall.train.run import train

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "benchmarks" / "results" / "accuracy_dataset.json"

CONFIG: dict[str, Any] = {
    "supernet": "ofa_mbv3_w10_small_input",
    "seed": 0,
    "data": {
        "dataset": "fashion_mnist",
        "holdout": 1000,
        "train_subset": 3000,
        "calibration_images": 300,
    },
    "training": {"batch_size": 64, "threads": 1, "dropout": 0.0, "checkpoint_every": 50},
    "evaluation": {"batch_size": 500},
    "phases": [
        {
            "name": "full",
            "epochs": 0.5,
            "lr": 0.1,
            "distill": False,
            "restrict": {"kernel_sizes": [7], "expand_ratios": [6], "depths": [4]},
        },
        {
            "name": "expand",
            "epochs": 0.3,
            "lr": 0.02,
            "subnets_per_step": 2,
            "reorder_channels": True,
            "distill": False,
        },
    ],
}


WAYS = ("straightforward", "evaluate", "dataset")


def straightforward(evaluator: Evaluator, net: Any, arch: Any) -> float:
    """Held-out top-1 of `arch` as `Evaluator.evaluate` computed it before issue 17."""
    model = to_channels_last(net.static(arch).to(evaluator.device))
    recalibrate_bn(model, evaluator.calibration_batches(arch.resolution))
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for images, labels in evaluator.eval_batches(arch.resolution):
            correct += int((model(images).argmax(dim=1).cpu() == labels).sum())
            total += int(labels.numel())
    return correct / max(total, 1)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def worker(way: str, run_dir: Path, archs: int, threads: int, connection: Connection) -> None:
    """Load the run, prepare the data of every resolution, then time one sub-network per request
    (its index; None ends): answers (accuracy, wall seconds, CPU seconds)."""
    torch.set_num_threads(threads)
    net, config, _ = load_trained_supernet(run_dir)
    evaluator = heldout_evaluator(
        config, build_run_data(config.data, config.seed), None, torch.device("cpu")
    )
    candidates_list = candidates(net.space, archs, seed=0)
    blocks = keep_large_blocks() if way == "dataset" else contextlib.nullcontext()
    with blocks:
        images = {}
        for resolution in sorted({arch.resolution for arch in candidates_list}):  # not timed
            images[resolution] = {
                "calibration": sum(len(b) for b in evaluator.calibration_batches(resolution)),
                "evaluation": sum(len(labels) for _, labels in evaluator.eval_batches(resolution)),
                "forward_chunk": forward_chunk_size(evaluator.eval_batches(resolution)[0][0]),
            }
        connection.send(images)
        while (index := connection.recv()) is not None:
            arch = candidates_list[index]
            wall, cpu = time.perf_counter(), cpu_seconds()
            if way == "straightforward":
                accuracy = straightforward(evaluator, net, arch)
            else:
                accuracy = evaluator.evaluate(net, arch).accuracy
            connection.send((str(arch), accuracy, time.perf_counter() - wall, cpu_seconds() - cpu))
        connection.send(peak_rss_mib())


def peak_rss_mib() -> float | None:
    """VmHWM of this process (Linux; ru_maxrss would include the parent's, inherited at fork)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def ensure_run(run_dir: Path) -> None:
    try:
        if load_checkpoint(run_dir)["complete"]:
            return
    except Exception:  # no checkpoint yet
        pass
    train(run_config_from_dict(CONFIG), run_dir, resume=run_dir.exists(), progress=False)


def summary(rows: list[dict[str, Any]], way: str) -> dict[str, Any]:
    base = "straightforward"

    def total(name: str, key: str) -> float:
        return sum(row[name][key] for row in rows)

    result: dict[str, Any] = {
        "wall_mean_s": round(total(way, "wall_s") / len(rows), 3),
        "cpu_mean_s": round(total(way, "cpu_s") / len(rows), 3),
    }
    if way != base:
        result |= {
            "speedup_cpu": round(total(base, "cpu_s") / total(way, "cpu_s"), 2),
            "speedup_wall": round(total(base, "wall_s") / total(way, "wall_s"), 2),
            "speedup_cpu_median_per_arch": round(
                statistics.median(row[base]["cpu_s"] / row[way]["cpu_s"] for row in rows), 2
            ),
            "max_accuracy_difference": max(
                abs(row[base]["accuracy"] - row[way]["accuracy"]) for row in rows
            ),
        }
    return result


def measure(run_dir: Path, archs: int, threads: int) -> dict[str, Any]:
    """One worker process per way at `threads` threads; the sub-networks asked in turn."""
    spawn = multiprocessing.get_context("spawn")
    connections, processes, images = {}, [], {}
    for way in WAYS:
        ours, theirs = spawn.Pipe()
        process = spawn.Process(
            target=worker, args=(way, run_dir, archs, threads, theirs), daemon=True
        )
        process.start()
        connections[way] = ours
        processes.append(process)
    for way in WAYS:
        images[way] = connections[way].recv()
    assert all(images[way] == images[WAYS[0]] for way in WAYS), "unequal image counts"

    load_before = [round(v, 2) for v in os.getloadavg()]
    rows: list[dict[str, Any]] = []
    for index in range(archs):
        shift = index % len(WAYS)
        order = WAYS[shift:] + WAYS[:shift]
        if (index // len(WAYS)) % 2:
            order = order[::-1]
        row: dict[str, Any] = {}
        for way in order:
            connections[way].send(index)
            arch, accuracy, wall, cpu = connections[way].recv()
            row |= {"arch": arch, way: {"accuracy": accuracy, "wall_s": wall, "cpu_s": cpu}}
        rows.append({"arch": row["arch"], **{way: row[way] for way in WAYS}})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    peak_rss = {}
    for way in WAYS:
        connections[way].send(None)
        peak_rss[way] = connections[way].recv()
    for process in processes:
        process.join()
    return {
        "threads": threads,
        "images_per_resolution": images[WAYS[0]],
        "load_average_before": load_before,
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "ways": {way: summary(rows, way) | {"peak_rss_mib": peak_rss[way]} for way in WAYS},
        "rows": [
            {
                "arch": row["arch"],
                **{
                    way: {k: round(v, 4) if k != "accuracy" else v for k, v in row[way].items()}
                    for way in WAYS
                },
            }
            for row in rows
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "bench_accuracy_dataset")
    parser.add_argument("--archs", type=int, default=24)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", type=Path, default=RESULT)
    parser.add_argument("--note", default="", help="what else ran on the machine, recorded")
    args = parser.parse_args()
    ensure_run(args.run)
    runs = [measure(args.run, args.archs, threads) for threads in args.threads]
    result = {
        "command": f"python benchmarks/bench_accuracy_dataset.py --archs {args.archs} "
        f"--threads {' '.join(map(str, args.threads))}",
        "machine": machine_description(),
        "torch": torch.__version__,
        "supernet": CONFIG["supernet"],
        "evaluation_batch_size": CONFIG["evaluation"]["batch_size"],
        "archs": args.archs,
        "notes": " ".join(
            [
                f"Niceness {os.nice(0)}; each run records the load average (1, 5, 15 min) before "
                f"and after, on {os.cpu_count()} CPUs. CPU seconds: user + system of each worker "
                "process, less sensitive to the load than wall seconds (with 2 threads, about "
                "twice the wall seconds).",
                args.note,
            ]
        ).strip(),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out, result)
    shown = {**result, "runs": [{k: v for k, v in run.items() if k != "rows"} for run in runs]}
    print(json.dumps(shown, indent=1))


if __name__ == "__main__":
    main()
