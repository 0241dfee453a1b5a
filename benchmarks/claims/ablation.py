"""Claim 2: progressive shrinking matters. Equal sub-network passes, several ways to train:

    python benchmarks/claims/ablation.py [--variants progressive all_after_full all_elastic
                                          sandwich] [--config --runs --results --threads]

- `progressive`: the study's progressive shrinking (full -> kernel -> depth -> expand, KD);
- `all_after_full`: the fair comparison. The same full phase and teacher (the run starts from
  the progressive run's phase1-full.pt), then every elastic dimension at once, with
  distillation, 4 sub-networks per step, for as many passes as progressive shrinking's elastic
  phases; its rate is their pass-weighted mean and its warm-up their share (5/120);
- controls, from scratch and without distillation, for as many passes as the whole progressive
  schedule: `all_elastic` (every dimension from the first step, 2 sub-networks per step) and
  `sandwich` (largest + smallest + 1 random per step, in-place distillation).

A pass is the forward + backward of one sub-network on one batch. Passes of different
sub-networks cost different time, so each run's training wall time is reported too. The five
fixed sub-networks are evaluated on the test split (BN re-calibrated). Resumable. Writes
RESULTS/ablation.json + .png with the variants run so far (see --variants).
"""

from __future__ import annotations

import time
from pathlib import Path
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

CONTROLS = ("all_elastic", "sandwich")
VARIANTS = ("progressive", "all_after_full", *CONTROLS)


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


def all_after_full_config(study: Study) -> dict[str, Any]:
    """The progressive run's full phase, then all elastic dimensions at once (module docstring)."""
    config = study.base_config()
    elastic = config["phases"][1:]
    budget = pass_epochs({"phases": elastic})
    rate = sum(float(p["lr"]) * float(p["epochs"]) * passes_per_step(p) for p in elastic) / budget
    warmup = sum(float(p.get("warmup_epochs", 0.0)) for p in elastic)
    share = warmup / sum(float(p["epochs"]) for p in elastic)
    subnets = 4
    epochs = budget / subnets
    config["phases"] = [
        {
            "name": "all_after_full",
            "epochs": round(epochs, 4),
            "lr": round(rate, 6),
            "warmup_epochs": round(share * epochs, 4),
            "subnets_per_step": subnets,
            "reorder_channels": True,
        }
    ]
    config["training"] = {
        **config.get("training", {}),
        "init_checkpoint": str(study.ps / "checkpoints" / "phase1-full.pt"),
    }
    return config


def variant_configs(study: Study, names: list[str]) -> dict[str, tuple[dict[str, Any], Path]]:
    budget = pass_epochs(study.base_config())
    make = {
        "progressive": lambda: study.base_config(),
        "all_after_full": lambda: all_after_full_config(study),
        "all_elastic": lambda: one_phase_config(
            study, budget, {"name": "all_elastic", "subnets_per_step": 2}
        ),
        "sandwich": lambda: one_phase_config(
            study, budget, {"name": "sandwich", "sampler": "sandwich", "subnets_per_step": 1}
        ),
    }
    return {
        name: (make[name](), study.ps if name == "progressive" else study.runs / name)
        for name in names
    }


def main() -> None:
    parser = study_parser(__doc__)
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument(
        "--train-only", action="store_true", help="train the variants, evaluate and write nothing"
    )
    args = parser.parse_args()
    study = study_from_args(args)
    start = time.perf_counter()
    if args.train_only:
        for config, run_dir in variant_configs(study, args.variants).values():
            train_run(config, run_dir)
        return
    names = ["progressive", *[v for v in args.variants if v != "progressive"]]
    fixed = fixed_panel(study)
    results: dict[str, Any] = {}
    for name, (config, run_dir) in variant_configs(study, names).items():
        train_run(config, run_dir)
        accuracy = test_accuracies(run_dir, [arch for _, arch, _ in fixed])
        results[name] = {
            "run": str(run_dir),
            "control": name in CONTROLS,
            "phases": config["phases"],
            "init_checkpoint": config.get("training", {}).get("init_checkpoint"),
            "pass_epochs": pass_epochs(config),
            "train_seconds": run_wall_seconds(run_dir),
            "test_accuracy": {
                label: {"arch": arch, "macs": macs, "accuracy": accuracy[arch]}
                for label, arch, macs in fixed
            },
        }
        print(name, {label: round(100 * accuracy[arch], 2) for label, arch, _ in fixed})
    plot(study, results)
    study.write_result(
        "ablation.json",
        {"budget_pass_epochs": pass_epochs(study.base_config()), "variants": results},
        start,
    )


def plot(study: Study, results: dict[str, Any]) -> None:
    figure, axes = new_figure(6, 4)
    for name, result in results.items():
        points = sorted(result["test_accuracy"].values(), key=lambda p: p["macs"])
        kind = " (control)" if result["control"] else ""
        axes.plot(
            [p["macs"] / 1e6 for p in points],
            [100 * p["accuracy"] for p in points],
            "o--" if result["control"] else "o-",
            label=f"{name}{kind}, {result['train_seconds'] / 60:.0f} min",
        )
    label_axes(
        axes,
        "MMACs",
        "Fashion-MNIST test top-1 (%)",
        "Equal sub-network passes: training schedules",
    )
    study.save_figure(figure, "ablation.png")


if __name__ == "__main__":
    main()
