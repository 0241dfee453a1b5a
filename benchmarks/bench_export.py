"""Exported sub-networks on this CPU: export time per format, latency per backend vs eager PyTorch.

    python benchmarks/bench_export.py [--threads 1] [--batch-size 8] [--repetitions 50]

OFA-MobileNetV3 w1.0 (1000 classes) sub-networks: the smallest at 160 px, a seeded random one at
192 px and the largest at 224 px, plus the largest w1.0 small-input network at 32 px (the
Fashion-MNIST layout). Each is exported as `ofa export` does (deploy/formats.py: the pickled fx
GraphModule, TorchScript by torch.jit.script, ONNX opset 17) and timed as `ofa export` times it
(deploy/exported_latency.py: interleaved shuffled rounds) at batch 1 and --batch-size. The
baseline is eager PyTorch (the fx GraphModule) measured in the same rounds; `speedup` is its
median divided by the backend's. Weights are the fresh initialization: latency does not depend on
them. Writes benchmarks/results/export.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from onceforall.atomic_files import atomic_write_json
from onceforall.deploy.exported_latency import measure_exported
from onceforall.deploy.formats import WRITERS, model_file
from onceforall.latency.measure import (
    MeasureSettings,
    backend_versions,
    machine_description,
)
from onceforall.models.registry import create_supernet


def cases() -> list[tuple[str, Any, Any]]:
    """(label, supernet, arch) of every measured sub-network."""
    net = create_supernet("ofa_mbv3_w10", num_classes=1000, dropout=0.0).eval()
    space = net.space
    middle = space.sample(np.random.default_rng(0))
    small = create_supernet("ofa_mbv3_w10_small_input", num_classes=10, dropout=0.0).eval()
    return [
        ("ofa_mbv3_w10 min", net, dataclasses.replace(space.min(), resolution=160)),
        ("ofa_mbv3_w10 random", net, dataclasses.replace(middle, resolution=192)),
        ("ofa_mbv3_w10 max", net, space.max()),
        ("ofa_mbv3_w10_small_input max", small, small.space.max()),
    ]


def measure_case(
    label: str, net: Any, arch: Any, settings: MeasureSettings, batch_sizes: tuple[int, ...]
) -> dict[str, Any]:
    module = net.export(arch)
    example = torch.randn(1, 3, arch.resolution, arch.resolution)
    export_seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        files = {}
        for name, writer in WRITERS.items():
            start = time.perf_counter()
            writer(module, Path(folder), example)
            export_seconds[name] = round(time.perf_counter() - start, 3)
            if name != "pytorch":
                files[name] = Path(folder) / model_file(name)
        rows = measure_exported(module, files, arch.resolution, batch_sizes, settings)
    latency = []
    for batch_size in batch_sizes:
        same = [r for r in rows if r.batch_size == batch_size]
        baseline = next(r for r in same if r.backend == "pytorch").median_ms
        latency += [
            {
                "backend": r.backend,
                "batch_size": batch_size,
                "median_ms": round(r.median_ms, 4),
                "iqr_ms": round(r.iqr_ms, 4),
                "min_ms": round(r.min_ms, 4),
                "speedup_vs_pytorch_eager": round(baseline / r.median_ms, 2),
            }
            for r in same
        ]
    print(label, arch, export_seconds)
    for row in latency:
        print("   ", row)
    return {
        "case": label,
        "arch": str(arch),
        "macs": net.space.macs(arch),
        "export_seconds": export_seconds,
        "latency": latency,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repetitions", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/export.json"))
    args = parser.parse_args()
    settings = MeasureSettings(
        threads=args.threads, warmup=args.warmup, repetitions=args.repetitions, rounds=args.rounds
    )
    batch_sizes = tuple(dict.fromkeys((1, args.batch_size)))
    results = [measure_case(*case, settings, batch_sizes) for case in cases()]
    atomic_write_json(
        args.out,
        {
            "command": f"python benchmarks/bench_export.py --threads {args.threads} "
            f"--batch-size {args.batch_size} --repetitions {args.repetitions}",
            "note": "timings on a shared 2-core machine; re-run in a quiet period",
            "threads": args.threads,
            "measure": {"warmup": args.warmup, "repetitions": args.repetitions},
            "machine": machine_description(),
            "versions": backend_versions("onnxruntime"),
            "results": results,
        },
    )


if __name__ == "__main__":
    main()
