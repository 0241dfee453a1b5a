"""Claim 1: sub-networks taken from the progressive-shrinking supernet (no fine-tuning) are as
accurate as the same architectures trained alone from scratch.

    python benchmarks/claims/ps_vs_scratch.py [--seeds 0 1] [--config --runs --results]

The five fixed sub-networks (min, three spread in MACs, max) are evaluated on the test split
twice: taken from the supernet (BN re-calibrated), and trained alone with the recipe of the
supernet's full-network phase (same epochs, rate, warm-up, data, augmentation, no distillation;
a phase pinned to the arch), once per seed. Resumable: finished runs are skipped.
Writes RESULTS/ps_vs_scratch.json and .png. Wall time on the 2-core machine with the default
config: 28.3 min for the ten train-alone runs (40 s for the min sub-network to 4.5 min for the
max) and the test evaluations, plus 12.2 min to train the supernet when RUNS/ps does not exist.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
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


def scratch_config(study: Study, arch: str, seed: int) -> dict[str, Any]:
    """The study's config reduced to its full-network phase, pinned to `arch`."""
    config = study.base_config()
    full = dict(config["phases"][0])
    full.pop("restrict", None)
    config["phases"] = [{**full, "name": "scratch", "arch": arch, "distill": False}]
    config["seed"] = seed
    config["evaluation"] = {**config.get("evaluation", {}), "panel": [arch]}
    return config


def main() -> None:
    parser = study_parser(__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args()
    study = study_from_args(args)
    start = time.perf_counter()
    supernet_dir = study.ps_run()
    fixed = fixed_panel(supernet_dir)
    from_supernet = test_accuracies(supernet_dir, [arch for _, arch, _ in fixed])
    rows = []
    for label, arch, macs in fixed:
        scratch = []
        for seed in args.seeds:
            run_dir = study.runs / "scratch" / f"{label}-seed{seed}"
            train_run(scratch_config(study, arch, seed), run_dir)
            scratch.append(
                {
                    "seed": seed,
                    "test_accuracy": test_accuracies(run_dir, [arch])[arch],
                    "train_seconds": run_wall_seconds(run_dir),
                }
            )
        mean = float(np.mean([s["test_accuracy"] for s in scratch]))
        rows.append(
            {
                "label": label,
                "arch": arch,
                "macs": macs,
                "supernet_test_accuracy": from_supernet[arch],
                "scratch": scratch,
                "scratch_mean_test_accuracy": mean,
                "difference_pp": round(100 * (from_supernet[arch] - mean), 2),
            }
        )
        print(f"{label}: supernet {from_supernet[arch]:.4f}, scratch mean {mean:.4f}")
    plot(study, rows)
    study.write_result(
        "ps_vs_scratch.json",
        {
            "supernet_run": str(supernet_dir),
            "supernet_train_seconds": run_wall_seconds(supernet_dir),
            "scratch_recipe": scratch_config(study, "ARCH", 0)["phases"][0],
            "seeds": args.seeds,
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
