"""Foundation benchmarks: MACs counting throughput, and the supernet's dynamic overhead.

    python benchmarks/bench_foundation.py [--supernet ofa_mbv3_w10] [--archs 100000] [--out ...]

Results go to benchmarks/results/foundation.json (ofa_mbv3_w10) or foundation_<supernet>.json.

1. Analytic MACs+params of N sampled archs (vectorized over the population matrix), against the
   reference's count_net_flops (build the static sub-network, run hooks) timed on a few archs in
   the same run when the reference is installed.
2. Forward of the supernet at its max arch vs the exported static network (same weights, eval,
   batch 8 at 224 px and batch 64 at 32 px, 2 threads): the cost of weight sharing at inference;
   and vs the reference's elastic network at the same arch, when it is installed.
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

from onceforall.atomic_files import atomic_write_json
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


def _reference(name: str) -> tuple[Any, Any] | None:
    """The reference's elastic network of `name` and its utils, or None if not installed."""
    try:
        from onceforall.compat.reference_oracle import import_reference, reference_supernet

        return reference_supernet(name), import_reference("ofa.utils")
    except ImportError:
        return None


def _select(reference: Any, ref: dict[str, Any]) -> None:
    reference.set_active_subnet(**{k: ref[k] for k in ("ks", "e", "d", "w") if k in ref})


def bench_counting(name: str, n_archs: int, reference_archs: int) -> dict[str, Any]:
    space = supernet_space(name, 1000)
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
    found = _reference(name)
    if found is None:
        result["reference"] = "not installed"
        return result
    reference, utils = found
    archs = space.from_population(population[:reference_archs])
    per_arch = []
    for arch in tqdm(archs, desc="reference count_net_flops", leave=False):
        ref = space.to_reference_dict(arch)
        start = time.perf_counter()
        _select(reference, ref)
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


def bench_forward(name: str, batch: int, resolution: int, repeats: int) -> dict[str, Any]:
    net = create_supernet(name, num_classes=1000).eval()
    arch = net.space.max()
    net.set_arch(arch)
    static = net.export(arch)
    found = _reference(name)
    reference = None if found is None else found[0].eval()
    if reference is not None:
        _select(reference, net.space.to_reference_dict(arch))
    x = torch.randn(batch, 3, resolution, resolution)
    with torch.no_grad():
        rows = []
        for _ in tqdm(range(repeats), desc=f"forward b{batch} r{resolution}", leave=False):
            # interleaved, so drift in machine load hits every side alike
            row = [time_call(lambda: net(x), 1, 0)[0], time_call(lambda: static(x), 1, 0)[0]]
            if reference is not None:
                row.append(time_call(lambda: reference(x), 1, 0)[0])
            rows.append(row)
        time_call(lambda: net(x), 0, 2)
    supernet = statistics.median(r[0] for r in rows)
    exported = statistics.median(r[1] for r in rows)
    result: dict[str, Any] = {
        "batch": batch,
        "resolution": resolution,
        "supernet_ms": round(1000 * supernet, 2),
        "exported_ms": round(1000 * exported, 2),
        "overhead_percent": round(100 * (supernet / exported - 1), 2),
    }
    if reference is not None:
        reference_ms = statistics.median(r[2] for r in rows)
        result["reference_supernet_ms"] = round(1000 * reference_ms, 2)
        result["reference_over_supernet"] = round(reference_ms / supernet, 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--supernet", default="ofa_mbv3_w10")
    parser.add_argument("--archs", type=int, default=100_000)
    parser.add_argument("--reference-archs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    name = args.supernet
    suffix = "" if name == "ofa_mbv3_w10" else f"_{name}"
    out = args.out or Path(f"benchmarks/results/foundation{suffix}.json")
    torch.set_num_threads(args.threads)
    result = {
        "command": f"python benchmarks/bench_foundation.py --supernet {name}",
        "supernet": name,
        "machine": {
            "cpu_count": os.cpu_count(),
            "threads": args.threads,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "macs_counting": bench_counting(name, args.archs, args.reference_archs),
        "dynamic_overhead": [
            bench_forward(name, 8, 224, args.repeats),
            bench_forward(name, 64, 32, args.repeats),
        ],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out, result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
