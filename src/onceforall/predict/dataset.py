"""The accuracy dataset: distinct sub-networks of a trained run, BN re-calibrated and evaluated.

`build_accuracy_dataset(run_dir, n)` appends one JSON line per sub-network to
RUN/predictor/dataset.jsonl as it goes ({"arch", "accuracy", "macs", "params", "resolution"}),
so an interrupted build resumes where it stopped; archs already in the file are never evaluated
again. Evaluation uses the run's held-out split (never the test split). Under torchrun each rank
evaluates every world_size-th candidate into its own part file; rank 0 merges them. Per
sub-network: `Evaluator.evaluate` (nn/inference.py for its speed), with freed large blocks kept
in the heap while the loop runs (malloc_tuning.py).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from onceforall.atomic_files import atomic_write_text, make_folder
from onceforall.errors import OnceForAllError
from onceforall.malloc_tuning import keep_large_blocks
from onceforall.memory_budget import ARCH_BYTES, check_fits_in_memory
from onceforall.run.config import RunConfig
from onceforall.run.datasets import RunData, build_run_data
from onceforall.run.evaluation import Evaluator
from onceforall.run.layout import PREDICTOR_FOLDER
from onceforall.run.trained import load_trained_supernet
from onceforall.train.distributed import barrier, init_distributed

DATASET_NAME = "dataset.jsonl"
CANDIDATE_STREAM = 105  # last entry of the seed key (see train/schedule.py on trailing zeros)


@dataclass(frozen=True)
class DatasetSummary:
    path: Path
    records: int  # lines in the file now
    evaluated: int  # evaluated in this call
    seconds: float


def read_done(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """Records already written (arch string -> record); lines cut by a crash are skipped."""
    done: dict[str, dict[str, Any]] = {}
    for path in paths:
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and "arch" in record and "accuracy" in record:
                done.setdefault(record["arch"], record)
    return done


def candidates(space: Any, n: int, seed: int) -> list[Any]:
    """`n` distinct archs in a fixed order: the same list for every rank and every resume, and
    the first `m` candidates for `n` are the candidates for `m` (a larger --n extends the set)."""
    total = space.size(with_resolutions=True)
    if n > total:
        raise OnceForAllError(f"--n {n} exceeds the {total} sub-networks of the space")
    check_fits_in_memory("--n", n, ARCH_BYTES)
    rng = np.random.default_rng([seed, CANDIDATE_STREAM])
    seen: set[bytes] = set()
    rows: list[np.ndarray] = []
    while len(rows) < n:
        for row in space.sample_population(256, rng):
            key = row.tobytes()
            if key not in seen:
                seen.add(key)
                rows.append(row)
                if len(rows) == n:
                    break
    return list(space.from_population(np.stack(rows)))


def append_line(path: Path, record: dict[str, Any]) -> None:
    with path.open("a") as handle:
        handle.write(json.dumps(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def heldout_evaluator(
    config: RunConfig,
    data: RunData,
    eval_images: int | None,
    device: torch.device,
    *,
    offset: int = 0,
) -> Evaluator:
    """The run's evaluator on its held-out split, or on `eval_images` of its images from
    `offset` on (offset 0: the first ones, as the accuracy dataset uses)."""
    holdout = data.holdout
    end = len(holdout) if eval_images is None else min(len(holdout), offset + eval_images)
    if offset > 0 or end < len(holdout):
        holdout = holdout.subset(np.arange(offset, end))
    return Evaluator.for_run(config, data, holdout, device=device)


def build_accuracy_dataset(
    run_dir: Path,
    n: int,
    *,
    out: Path | None = None,
    seed: int = 0,
    eval_images: int | None = None,
    progress: bool = True,
) -> DatasetSummary:
    """Measure `n` distinct sub-networks (see `candidates`) on the held-out split, or on its
    first `eval_images` images (fewer images: more sub-networks per hour, noisier accuracies)."""
    if n < 1:
        raise OnceForAllError(f"--n must be at least 1, got {n}")
    if eval_images is not None and eval_images < 1:
        raise OnceForAllError(f"--eval-images must be at least 1, got {eval_images}")
    start = time.perf_counter()
    context = init_distributed()
    net, config, _ = load_trained_supernet(run_dir)
    if config.training.threads is not None:
        torch.set_num_threads(config.training.threads)
    path = out if out is not None else run_dir / PREDICTOR_FOLDER / DATASET_NAME
    make_folder(path.parent)
    part = path.with_name(f"{path.stem}.rank{context.rank}.jsonl")
    parts = sorted(path.parent.glob(f"{path.stem}.rank*.jsonl"))
    done = read_done([path, *parts])
    todo = [
        arch
        for index, arch in enumerate(candidates(net.space, n, seed))
        if index % context.world_size == context.rank and str(arch) not in done
    ]
    evaluator = heldout_evaluator(
        config, build_run_data(config.data, config.seed), eval_images, context.device
    )
    net.to(context.device)
    bar = tqdm(todo, desc="accuracy dataset", disable=not progress or not context.is_main)
    with keep_large_blocks():  # whole calibration batches, sub-network after sub-network
        for arch in bar:
            result = evaluator.evaluate(net, arch)
            append_line(
                part,
                {
                    "arch": result.arch,
                    "accuracy": result.accuracy,
                    "macs": result.macs,
                    "params": result.params,
                    "resolution": arch.resolution,
                    "eval_images": len(evaluator.eval_source),
                },
            )
    barrier(context)
    if context.is_main:
        merge_parts(path)
    barrier(context)
    records = len(read_done([path]))
    return DatasetSummary(path, records, len(todo), time.perf_counter() - start)


def merge_parts(path: Path) -> None:
    """Fold the rank part files into `path` (deduplicated, atomically), then remove them."""
    parts = sorted(path.parent.glob(f"{path.stem}.rank*.jsonl"))
    merged = read_done([path, *parts])
    atomic_write_text(path, "".join(json.dumps(record) + "\n" for record in merged.values()))
    for part in parts:
        part.unlink()
