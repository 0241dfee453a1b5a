"""Foundation benchmarks: MACs counting throughput, and the supernet's dynamic overhead.

    python benchmarks/bench_foundation.py [--archs 100000] [--out benchmarks/results/foundation.json]

1. Analytic MACs+params of N sampled archs (vectorized over the population matrix), against the
   reference's count_net_flops (build the static sub-network, run hooks) timed on a few archs in
   the same run when the reference is installed.
2. Forward of the supernet at its max arch vs the exported static network (same weights, eval,
   batch 8 at 224 px and batch 64 at 32 px, 2 threads): the cost of weight sharing at inference.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from onceforall.models.registry import create_supernet, supernet_space


def time_call(fn: Any, repeats: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def bench_counting(n_archs: int, reference_archs: int) -> dict[str, Any]:
    space = supernet_space("ofa_mbv3_w10", 1000)
    population = space.sample_population(n_archs, np.random.default_rng(0))
    space.macs_population(population[:10])  # build the tables once
    times = time_call(
        lambda: (space.macs_population(population), space.params_population(population)), 5, 1
    )
    ours = n_archs / statistics.median(times)
    result: dict[str, Any] = {
        "archs": n_archs,
        "onceforall_archs_per_s": round(ours),
        "onceforall_seconds": statistics.median(times),
    }
    try:
        from onceforall.compat.reference_oracle import import_reference

        networks = import_reference()
        utils = import_reference("ofa.utils")
    except ImportError:
        result["reference"] = "not installed"
        return result
    reference = networks.OFAMobileNetV3(
        n_classes=1000,
        dropout_rate=0,
        width_mult=1.0,
        ks_list=[3, 5, 7],
        expand_ratio_list=[3, 4, 6],
        depth_list=[2, 3, 4],
    )
    archs = space.from_population(population[:reference_archs])
    per_arch = []
    for arch in tqdm(archs, desc="reference count_net_flops", leave=False):
        ref = arch.to_reference_dict()
        start = time.perf_counter()
        reference.set_active_subnet(ks=ref["ks"], e=ref["e"], d=ref["d"])
        subnet = reference.get_active_subnet()
        utils.count_net_flops(subnet, (1, 3, arch.resolution, arch.resolution))
        per_arch.append(time.perf_counter() - start)
    reference_rate = 1.0 / statistics.median(per_arch)
    result.update(
        reference_archs_timed=reference_archs,
        reference_ms_per_arch=round(1000 * statistics.median(per_arch), 2),
        reference_archs_per_s=round(reference_rate, 2),
        speedup=round(ours / reference_rate),
    )
    return result


def bench_forward(batch: int, resolution: int, repeats: int) -> dict[str, Any]:
    net = create_supernet("ofa_mbv3_w10", num_classes=1000).eval()
    arch = net.space.max()
    net.set_arch(arch)
    static = net.export(arch)
    x = torch.randn(batch, 3, resolution, resolution)
    with torch.no_grad():
        pairs = []
        for _ in tqdm(range(repeats), desc=f"forward b{batch} r{resolution}", leave=False):
            # interleaved, so drift in machine load hits both sides alike
            a = time_call(lambda: net(x), 1, 0)[0]
            b = time_call(lambda: static(x), 1, 0)[0]
            pairs.append((a, b))
        time_call(lambda: net(x), 0, 2)
    supernet = statistics.median(a for a, _ in pairs)
    exported = statistics.median(b for _, b in pairs)
    return {
        "batch": batch,
        "resolution": resolution,
        "supernet_ms": round(1000 * supernet, 2),
        "exported_ms": round(1000 * exported, 2),
        "overhead_percent": round(100 * (supernet / exported - 1), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--archs", type=int, default=100_000)
    parser.add_argument("--reference-archs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/foundation.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = {
        "command": "python benchmarks/bench_foundation.py",
        "machine": {
            "cpu_count": os.cpu_count(),
            "threads": args.threads,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "macs_counting": bench_counting(args.archs, args.reference_archs),
        "dynamic_overhead": [
            bench_forward(8, 224, args.repeats),
            bench_forward(64, 32, args.repeats),
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(args.out)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
