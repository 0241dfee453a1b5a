"""Claim 1: sub-networks taken from the progressive-shrinking supernet (no fine-tuning) are as
accurate as the same architectures trained alone from scratch.

    python benchmarks/claims/ps_vs_scratch.py [--seeds 0 1] [--part all|supernet|scratch]
                                              [--config --runs --results --threads]

The five fixed sub-networks (min, three spread in MACs, max) are evaluated on the test split
twice: taken from the supernet (BN re-calibrated), and trained alone with the recipe of the
supernet's full-network phase (same epochs, rate, warm-up, data, augmentation, no distillation;
a phase pinned to the arch), once per seed. Resumable: finished runs are skipped. `--part
supernet` / `--part scratch` only train (two processes can then share the work); `--part all`
trains what is missing and writes RESULTS/ps_vs_scratch.json and .png, with the held-out curve
of the full phase (is the largest network near its plateau?) and of each train-alone run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from study import (
    Study,
    curve,
    fixed_panel,
    label_axes,
    new_figure,
    run_wall_seconds,
    study_from_args,
    study_parser,
    test_accuracies,
    train_images,
    train_run,
)


def scratch_config(study: Study, arch: str, seed: int) -> dict[str, Any]:
    """The study's config reduced to its full-network phase, pinned to `arch`."""
    config = study.base_config()
    full = dict(config["phases"][0])
    full.pop("restrict", None)
    config["phases"] = [{**full, "name": "scratch", "arch": arch, "distill": False}]
    config["seed"] = seed
    config["evaluation"] = {**config.get("evaluation", {}), "panel": [arch]}
    return config


def train_scratch(study: Study, seeds: list[int]) -> None:
    """Every train-alone run, cheapest first (the min sub-network of every seed, then up)."""
    for label, arch, _ in sorted(fixed_panel(study), key=lambda row: row[2]):
        for seed in seeds:
            train_run(scratch_config(study, arch, seed), scratch_dir(study, label, seed))


def scratch_dir(study: Study, label: str, seed: int) -> Path:
    return study.runs / "scratch" / f"{label}-seed{seed}"


def main() -> None:
    parser = study_parser(__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--part", choices=["all", "supernet", "scratch"], default="all")
    args = parser.parse_args()
    study = study_from_args(args)
    start = time.perf_counter()
    if args.part == "scratch":
        train_scratch(study, args.seeds)
        return
    supernet_dir = study.ps_run()
    if args.part == "supernet":
        return
    train_scratch(study, args.seeds)
    fixed = fixed_panel(study)
    from_supernet = test_accuracies(supernet_dir, [arch for _, arch, _ in fixed])
    rows = []
    for label, arch, macs in fixed:
        scratch = []
        for seed in args.seeds:
            run_dir = scratch_dir(study, label, seed)
            scratch.append(
                {
                    "seed": seed,
                    "test_accuracy": test_accuracies(run_dir, [arch])[arch],
                    "train_seconds": run_wall_seconds(run_dir),
                    "heldout_curve": curve(run_dir),
                }
            )
        accuracies = [s["test_accuracy"] for s in scratch]
        mean = float(np.mean(accuracies))
        rows.append(
            {
                "label": label,
                "arch": arch,
                "macs": macs,
                "supernet_test_accuracy": from_supernet[arch],
                "scratch": scratch,
                "scratch_mean_test_accuracy": mean,
                "scratch_spread_pp": round(100 * (max(accuracies) - min(accuracies)), 2),
                "difference_pp": round(100 * (from_supernet[arch] - mean), 2),
            }
        )
        print(f"{label}: supernet {from_supernet[arch]:.4f}, scratch mean {mean:.4f}")
    differences = [r["difference_pp"] for r in rows]
    plot(study, rows)
    study.write_result(
        "ps_vs_scratch.json",
        {
            "supernet_run": str(supernet_dir),
            "supernet_train_seconds": run_wall_seconds(supernet_dir),
            "train_images": train_images(study),
            "seeds": args.seeds,
            "teacher_bn": study.base_config().get("training", {}).get("teacher_bn"),
            "full_phase_heldout_curve": curve(supernet_dir, "full"),
            "scratch_recipe": scratch_config(study, "ARCH", 0)["phases"][0],
            "mean_difference_pp": round(float(np.mean(differences)), 2),
            "worst_difference_pp": min(differences),
            "goal": "mean difference >= -0.3 pp and none below -1.0 pp",
            "goal_met": bool(np.mean(differences) >= -0.3 and min(differences) >= -1.0),
            "rows": rows,
        },
        start,
    )


def plot(study: Study, rows: list[dict[str, Any]]) -> None:
    figure, axes = new_figure(6, 4)
    macs = [r["macs"] / 1e6 for r in rows]
    axes.plot(
        macs, [100 * r["supernet_test_accuracy"] for r in rows], "o-", label="from the supernet"
    )
    for seed_index in range(len(rows[0]["scratch"])):
        axes.scatter(
            macs,
            [100 * r["scratch"][seed_index]["test_accuracy"] for r in rows],
            marker="x",
            color="C1",
            label="trained alone" if seed_index == 0 else None,
        )
    for x, r in zip(macs, rows, strict=True):
        axes.annotate(r["label"], (x, 100 * r["supernet_test_accuracy"]), fontsize=8)
    label_axes(
        axes,
        "MMACs",
        "Fashion-MNIST test top-1 (%)",
        "Progressive shrinking vs training alone (5 sub-networks)",
    )
    study.save_figure(figure, "ps_vs_scratch.png")


if __name__ == "__main__":
    main()
