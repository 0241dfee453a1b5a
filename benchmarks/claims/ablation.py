"""Claim 2: progressive shrinking matters. Same compute, three ways to train the supernet:

    python benchmarks/claims/ablation.py [--config --runs --results]

- `progressive`: the study's progressive shrinking (full -> kernel -> depth -> expand, KD);
- `all_elastic`: every elastic dimension from the first step (2 random sub-networks per step);
- `sandwich`: the sandwich rule (largest + smallest + 1 random per step, in-place distillation).

Compute is matched in sub-network passes (forward + backward of one sub-network on one batch):
the progressive schedule's passes (sum of epochs x sub-networks per step) are spread over one
phase of the other two. Passes of different sub-networks cost different time, so each run's
measured training wall time is reported too. The five fixed sub-networks are evaluated on the
test split (BN re-calibrated). Resumable. Writes RESULTS/ablation.json + .png.
Wall time on the 2-core machine with the default config: 23 min (all_elastic 7.6 min and
sandwich 8.7 min of training, plus test evaluations), the progressive supernet already trained.
"""

from __future__ import annotations

import time
from typing import Any

from study import (
    Study,
    fixed_panel,
    label_axes,
    new_figure,
    run_wall_seconds,
    study_from_args,
    study_parser,
    test_accuracies,
    train_run,
)


def passes_per_step(phase: dict[str, Any]) -> int:
    extra = 2 if phase.get("sampler") == "sandwich" else 0
    return int(phase.get("subnets_per_step", 1)) + extra


def pass_epochs(config: dict[str, Any]) -> float:
    """Sub-network passes of a schedule, in epochs of single-sub-network steps."""
    return sum(float(p["epochs"]) * passes_per_step(p) for p in config["phases"])


def one_phase_config(study: Study, budget: float, phase: dict[str, Any]) -> dict[str, Any]:
    """The study's config with one phase (`phase`) whose passes equal `budget` epochs."""
    config = study.base_config()
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
    study = study_from_args(study_parser(__doc__).parse_args())
    start = time.perf_counter()
    budget = pass_epochs(study.base_config())
    variants = {
        "progressive": (study.base_config(), study.ps_run()),
        "all_elastic": (
            one_phase_config(study, budget, {"name": "all_elastic", "subnets_per_step": 2}),
            study.runs / "all_elastic",
        ),
        "sandwich": (
            one_phase_config(
                study, budget, {"name": "sandwich", "sampler": "sandwich", "subnets_per_step": 1}
            ),
            study.runs / "sandwich",
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
    plot(study, results)
    study.write_result("ablation.json", {"budget_pass_epochs": budget, "variants": results}, start)


def plot(study: Study, results: dict[str, Any]) -> None:
    figure, axes = new_figure(6, 4)
    for name, result in results.items():
        points = sorted(result["test_accuracy"].values(), key=lambda p: p["macs"])
        axes.plot(
            [p["macs"] / 1e6 for p in points],
            [100 * p["accuracy"] for p in points],
            "o-",
            label=f"{name} ({result['train_seconds'] / 60:.1f} min)",
        )
    label_axes(
        axes,
        "MMACs",
        "Fashion-MNIST test top-1 (%)",
        "Same sub-network passes: three training schedules",
    )
    study.save_figure(figure, "ablation.png")


if __name__ == "__main__":
    main()
