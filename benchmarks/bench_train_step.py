"""Progressive-shrinking training step: onceforall vs the reference implementation.

    python benchmarks/bench_train_step.py --impl onceforall|reference --resolution 32 \
        --batch-size 64 --subnets-per-step 2 --steps 6 [--threads 2]

OFA-MobileNetV3 w1.0, 10 classes; a step = soft targets from a full-size static teacher (eval
mode), then `--subnets-per-step` random sub-networks (forward, label-smoothed CE + KD loss,
backward), then SGD with Nesterov momentum. Prints one JSON line: `images_per_s` (median over the
steps after one warm-up step) and `peak_rss_mib` (the process's peak resident memory).

The onceforall side calls the trainer's own `train_step` with the trainer's defaults
(channels_last, sub-networks sampled by the schedule code), not a special fast path. Run each
impl in its own process (peak memory is per process); `--compare` runs both and writes
benchmarks/results/train_step.json with the ratios.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from onceforall.atomic_files import atomic_write_json


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def batch(args: argparse.Namespace) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(args.batch_size, 3, args.resolution, args.resolution, generator=generator)
    labels = torch.randint(0, 10, (args.batch_size,), generator=generator)
    return images, labels


def onceforall_steps(args: argparse.Namespace) -> list[float]:
    from onceforall.models.registry import create_supernet
    from onceforall.run.config import OptimizerConfig, PhaseConfig, RunConfig
    from onceforall.train.distributed import DistributedContext
    from onceforall.train.loop import StepState, build_optimizer, train_step
    from onceforall.train.schedule import plan_phases, step_archs

    net = create_supernet("ofa_mbv3_w10", num_classes=10)
    teacher = net.static(net.space.max()).eval().to(memory_format=torch.channels_last)
    net = net.to(memory_format=torch.channels_last).train()
    phase = PhaseConfig(name="bench", epochs=1, lr=0.01, subnets_per_step=args.subnets_per_step)
    config = RunConfig(supernet="ofa_mbv3_w10", phases=(phase,))
    plan = plan_phases(config, net.space.with_resolutions([args.resolution]), args.steps, 1)[0]
    state = StepState(
        net=net,
        optimizer=build_optimizer(net, OptimizerConfig(), plan.lr),
        config=OptimizerConfig(),
        context=DistributedContext(0, 1, 0, torch.device("cpu")),
        teacher=teacher,
        channels_last=True,
    )
    images, labels = batch(args)
    times = []
    for step in range(args.steps):
        start = time.perf_counter()
        train_step(state, images, labels, step_archs(plan, 0, step), plan.lr, distill=True)
        times.append(time.perf_counter() - start)
    return times


def reference_steps(args: argparse.Namespace) -> list[float]:
    from onceforall.compat.reference_oracle import import_reference

    networks = import_reference()
    net = networks.OFAMobileNetV3(
        n_classes=10,
        dropout_rate=0.1,
        width_mult=1.0,
        ks_list=[3, 5, 7],
        expand_ratio_list=[3, 4, 6],
        depth_list=[2, 3, 4],
    )
    net.set_max_net()
    teacher = net.get_active_subnet().eval()
    net.train()
    # the reference's training: SGD Nesterov, no weight decay on BN and biases
    decay = [p for n, p in net.named_parameters() if "bn" not in n and "bias" not in n]
    no_decay = [p for n, p in net.named_parameters() if "bn" in n or "bias" in n]
    optimizer = torch.optim.SGD(
        [{"params": decay, "weight_decay": 3e-5}, {"params": no_decay, "weight_decay": 0}],
        lr=0.01,
        momentum=0.9,
        nesterov=True,
    )
    images, labels = batch(args)
    times = []
    for step in range(args.steps):
        start = time.perf_counter()
        with torch.no_grad():
            soft = F.softmax(teacher(images), dim=1)
        optimizer.zero_grad()
        for k in range(args.subnets_per_step):
            random.seed(step * 1000 + k)  # the reference seeds `random` per sub-network
            net.sample_active_subnet()
            out = net(images)
            loss = F.cross_entropy(out, labels, label_smoothing=0.1)
            loss = loss + torch.mean(torch.sum(-soft * F.log_softmax(out, dim=1), dim=1))
            loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return times


def run_one(args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(args.threads)
    np.random.seed(0)
    times = onceforall_steps(args) if args.impl == "onceforall" else reference_steps(args)
    median = statistics.median(times[1:])
    return {
        "impl": args.impl,
        "resolution": args.resolution,
        "batch_size": args.batch_size,
        "subnets_per_step": args.subnets_per_step,
        "steps": args.steps,
        "threads": args.threads,
        "images_per_s": round(args.batch_size / median, 2),
        "step_seconds": [round(t, 4) for t in times],
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "torch": torch.__version__,
    }


def compare(args: argparse.Namespace) -> None:
    """Both impls, each in its own process, alternating, for every resolution given."""
    rows = []
    for resolution in args.resolutions:
        for impl in ("reference", "onceforall"):
            command = [
                sys.executable,
                __file__,
                "--impl",
                impl,
                "--resolution",
                str(resolution),
                "--batch-size",
                str(args.batch_size),
                "--subnets-per-step",
                str(args.subnets_per_step),
                "--steps",
                str(args.steps),
                "--threads",
                str(args.threads),
            ]
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            rows.append(json.loads(output.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
    summary = []
    for resolution in args.resolutions:
        ours = next(r for r in rows if r["impl"] == "onceforall" and r["resolution"] == resolution)
        ref = next(r for r in rows if r["impl"] == "reference" and r["resolution"] == resolution)
        summary.append(
            {
                "resolution": resolution,
                "onceforall_images_per_s": ours["images_per_s"],
                "reference_images_per_s": ref["images_per_s"],
                "speedup": round(ours["images_per_s"] / ref["images_per_s"], 2),
                "onceforall_peak_rss_mib": ours["peak_rss_mib"],
                "reference_peak_rss_mib": ref["peak_rss_mib"],
            }
        )
    result = {
        "command": "python benchmarks/bench_train_step.py --compare "
        + " ".join(f"--resolutions {r}" for r in args.resolutions),
        "runs": rows,
        "summary": summary,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out, result)
    print(json.dumps(summary))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--impl", choices=("onceforall", "reference"), default="onceforall")
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--subnets-per-step", type=int, default=2)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compare", action="store_true", help="run both impls, write JSON")
    parser.add_argument("--resolutions", type=int, action="append", default=None)
    parser.add_argument("--out", default="benchmarks/results/train_step.json")
    args = parser.parse_args()
    if args.compare:
        args.resolutions = args.resolutions or [32, 64]
        compare(args)
    else:
        print(json.dumps(run_one(args)))


if __name__ == "__main__":
    main()
