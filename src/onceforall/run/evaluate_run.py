"""Evaluate sub-networks of a trained run directory (what `ofa eval RUN` does)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from onceforall.atomic_files import atomic_write_json
from onceforall.run.datasets import build_run_data, load_test_source
from onceforall.run.evaluation import Evaluator, labelled_panel
from onceforall.run.trained import load_trained_supernet


def evaluate_run(
    run_dir: Path, archs: Sequence[str] = (), *, split: str = "holdout"
) -> dict[str, Any]:
    net, config, payload = load_trained_supernet(run_dir)
    data = build_run_data(config.data, config.seed)
    eval_source = load_test_source(config.data) if split == "test" else data.holdout
    if config.training.threads is not None:
        torch.set_num_threads(config.training.threads)
    evaluator = Evaluator.for_run(config, data, eval_source)
    results = []
    for label, arch in labelled_panel(net.space, archs or config.evaluation.panel):
        result = evaluator.evaluate(net, arch)
        results.append({"label": label, **result.__dict__})
    report = {
        "run": str(run_dir),
        "supernet": payload["supernet"],
        "split": split,
        "phase_index": payload["phase_index"],
        "complete": payload["complete"],
        "results": results,
    }
    atomic_write_json(run_dir / f"eval-{split}.json", report)
    return report
