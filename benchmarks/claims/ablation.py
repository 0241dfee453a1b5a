"""Claim 2: progressive shrinking matters. Same compute, three ways to train the supernet:

    python benchmarks/claims/ablation.py

- `progressive`: the demo's progressive shrinking (full -> kernel -> depth -> expand, KD);
- `all_elastic`: every elastic dimension from the first step (2 random sub-networks per step);
- `sandwich`: the sandwich rule (largest + smallest + 1 random per step, in-place distillation).

Compute is matched in sub-network passes (forward + backward of one sub-network on one batch):
the progressive schedule's passes (sum of epochs x sub-networks per step) are spread over one
phase of the other two. Passes of different sub-networks cost different time, so each run's
measured training wall time is reported too. The five fixed sub-networks are evaluated on the
test split (BN re-calibrated). Resumable. Writes benchmarks/results/claims/ablation.json + .png.
Wall time on the 2-core machine: 23 min (all_elastic 7.6 min and sandwich 8.7 min of training,
plus test evaluations), the progressive supernet already trained.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from study import (
    RUNS,
    base_config,
    fixed_panel,
    new_figure,
    ps_run,
    run_wall_seconds,
    save_figure,
    test_accuracies,
    train_run,
    write_result,
)


def passes_per_step(phase: dict[str, Any]) -> int:
    extra = 2 if phase.get("sampler") == "sandwich" else 0
    return int(phase.get("subnets_per_step", 1)) + extra


def pass_epochs(config: dict[str, Any]) -> float:
    """Sub-network passes of a schedule, in epochs of single-sub-network steps."""
    return sum(float(p["epochs"]) * passes_per_step(p) for p in config["phases"])


def one_phase_config(budget: float, phase: dict[str, Any]) -> dict[str, Any]:
    """The demo's config with one phase (`phase`) whose passes equal `budget` epochs."""
    config = base_config()
    full = config["phases"][0]
    epochs = budget / passes_per_step(phase)
    config["phases"] = [
        {
            "epochs": round(epochs, 4),
            "lr": full["lr"],
            "warmup_epochs": full.get("warmup_epochs", 0.0),
            "distill": False,
            **phase,
        }
    ]
    return config


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.parse_args()
    start = time.perf_counter()
    budget = pass_epochs(base_config())
    variants = {
        "progressive": (base_config(), ps_run(RUNS / "ps")),
        "all_elastic": (
            one_phase_config(budget, {"name": "all_elastic", "subnets_per_step": 2}),
            RUNS / "all_elastic",
        ),
        "sandwich": (
            one_phase_config(
                budget, {"name": "sandwich", "sampler": "sandwich", "subnets_per_step": 1}
            ),
            RUNS / "sandwich",
        ),
    }
    results: dict[str, Any] = {}
    for name, (config, run_dir) in variants.items():
        train_run(config, run_dir)
        fixed = fixed_panel(run_dir)
        accuracy = test_accuracies(run_dir, [arch for _, arch, _ in fixed])
        results[name] = {
            "run": str(run_dir),
            "phases": config["phases"],
            "pass_epochs": pass_epochs(config),
            "train_seconds": run_wall_seconds(run_dir),
            "test_accuracy": {
                label: {"arch": arch, "macs": macs, "accuracy": accuracy[arch]}
                for label, arch, macs in fixed
            },
        }
        print(name, {label: round(100 * accuracy[arch], 2) for label, arch, _ in fixed})
    plot(results)
    write_result(
        "ablation.json",
        {"budget_pass_epochs": budget, "variants": results},
        "python benchmarks/claims/ablation.py",
        start,
    )


def plot(results: dict[str, Any]) -> None:
    figure, axes = new_figure(6, 4)
    for name, result in results.items():
        points = sorted(result["test_accuracy"].values(), key=lambda p: p["macs"])
        axes.plot(
            [p["macs"] / 1e6 for p in points],
            [100 * p["accuracy"] for p in points],
            "o-",
            label=f"{name} ({result['train_seconds'] / 60:.1f} min)",
        )
    axes.set_xlabel("MMACs")
    axes.set_ylabel("Fashion-MNIST test top-1 (%)")
    axes.set_title("Same sub-network passes: three training schedules", fontsize=9)
    axes.legend(fontsize=8)
    save_figure(figure, "ablation.png")


if __name__ == "__main__":
    main()
