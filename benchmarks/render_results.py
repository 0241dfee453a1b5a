"""Render benchmarks/results/*.json into README.md's results section (between its markers).

    python benchmarks/render_results.py

Every figure in that section comes from a JSON file written by a benchmark or summary script;
each subsection names the file and the command that produced it. A missing file is skipped.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
START, END = "<!-- results:start -->", "<!-- results:end -->"
# the claims study at its default (small) scale, then at the scale of configs/ps_fashion_mnist.yaml
CLAIMS_FOLDERS = ("claims", "claims-full")


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def source(data: dict[str, Any], name: str) -> str:
    return f"`{data.get('command', '')}` -> `benchmarks/results/{name}`"


def training_speed(d: dict[str, Any]) -> str:
    rows = [
        [
            f"{r['resolution']} px",
            f"{r['reference_images_per_s']:.0f}",
            f"{r['onceforall_images_per_s']:.0f}",
            f"**{r['speedup']:.2f}x**",
            f"{r['reference_peak_rss_mib']:.0f} / {r['onceforall_peak_rss_mib']:.0f}",
        ]
        for r in d["summary"]
    ]
    return (
        "**Training step** (OFA-MobileNetV3 w1.0, 10 classes, batch 64, 2 sub-networks per step, KD "
        "from a static teacher, SGD Nesterov, 2 threads; median of the steps after a warm-up; each "
        "side in its own process):\n\n"
        + table(
            [
                "resolution",
                "reference img/s",
                "onceforall img/s",
                "ratio",
                "peak RSS MiB (ref / ours)",
            ],
            rows,
        )
        + f"\n\n{source(d, 'train_step.json')}. At 64 px the step is bound by convolution kernels "
        "(oneDNN's depthwise 5x5/7x7 weight gradient), not by Python overhead."
    )


def ps_fashion_mnist(d: dict[str, Any]) -> str:
    phases = d["phases"]
    labels = list(phases[0]["panel"].keys())
    rows = [
        [p["phase"], f"{p['minutes']:.1f}"]
        + [f"{100 * p['panel'][label]['accuracy']:.2f}" for label in labels]
        for p in phases
    ]
    return (
        f"**Progressive shrinking on Fashion-MNIST** (`{d['config']}`, {d['supernet']}, "
        f"{d['train_images']:,} training images, held-out accuracy of the panel after each phase, "
        "BN re-calibrated on 2,000 training images). "
        + (f"Note: {d['config_note']}. " if "config_note" in d else "")
        + f"Wall time {d['wall_minutes']:.1f} min on this 2-core machine:\n\n"
        + table(["phase", "min"] + [f"{label} %" for label in labels], rows)
        + "\n\nPanel: "
        + ", ".join(
            f"{label} = `{phases[-1]['panel'][label]['arch']}` "
            f"({phases[-1]['panel'][label]['macs'] / 1e6:.1f} MMACs)"
            for label in labels
        )
        + f"\n\n{source(d, 'ps_fashion_mnist.json')}."
    )


def demo(d: dict[str, Any]) -> str:
    rows = [
        [
            f"{r['budget_ms']:.2f}",
            f"{r['predicted_latency_ms']:.2f}",
            f"{r['measured_latency_ms']:.2f}",
            f"{100 * r['predicted_accuracy']:.2f}",
            f"{100 * r['measured_accuracy']:.2f}",
            f"{r['macs'] / 1e6:.1f}",
            f"`{r['arch']}`",
        ]
        for r in d["rows"]
    ]
    held = d.get("predictor_held_out", {})
    return (
        f"**`ofa demo`** (Fashion-MNIST, fresh run, {d['wall_seconds'] / 60:.1f} min wall time on 2 cores; "
        "latency: PyTorch eager, batch 1, 2 threads, fastest of the timed calls, as the table predicts; "
        "accuracy: the 10,000-image test split):\n\n"
        + table(
            [
                "budget ms",
                "predicted ms",
                "measured ms",
                "predicted top-1 %",
                "test top-1 %",
                "MMACs",
                "arch",
            ],
            rows,
        )
        + (
            f"\n\nPredictor held-out: RMSE {held['rmse_pp']:.2f} pp, Kendall tau {held['kendall_tau']:.2f} "
            f"({held['n']} sub-networks)."
            if "rmse_pp" in held
            else ""
        )
        + "\n\nSteps: "
        + ", ".join(f"{s['step']} {s['seconds']:.0f} s" for s in d["steps"])
        + f".\n\n{source(d, 'demo.json')}. ![demo Pareto plot](benchmarks/results/demo_pareto.png)"
    )


def search(d: dict[str, Any]) -> str:
    macs = d["macs_budget"]
    ours, ref = macs["onceforall"], macs["reference"]["runs"][0]
    text = (
        f"**Evolutionary search under {macs['budget_mmacs']:.0f} MMACs** ({macs['supernet']}, the "
        "released predictor, the paper's hyperparameters, seed 0):\n\n"
        + table(
            ["", "seconds", "best predicted top-1"],
            [
                [
                    "reference `EvolutionFinder`",
                    f"{ref['seconds']:.1f} ({100 * ref['constraint_check_seconds'] / ref['seconds']:.0f}% in constraint checks)",
                    f"{100 * ref['predicted_accuracy']:.2f}%",
                ],
                [
                    "onceforall",
                    f"{ours['seconds_median']:.2f} (median of {len(ours['seconds_all'])})",
                    f"{100 * ours['seed0_predicted_accuracy']:.2f}%",
                ],
            ],
        )
        + f"\n\nRatio {ref['seconds'] / ours['seconds_median']:.0f}x; over seeds 0-9 ours averages "
        f"{100 * statistics.mean(ours['predicted_accuracy_by_seed']):.2f}%."
    )
    note = d["note10"]
    paper = note.get("onceforall_paper_settings")
    rows = []
    for index, (ours_b, ref_b) in enumerate(
        zip(note["onceforall"]["per_budget"], note["reference"]["per_budget"], strict=True)
    ):
        row = [
            f"{ours_b['budget_ms']:.0f}",
            f"{100 * ref_b['predicted_accuracy']:.3f} ({ref_b['seconds']:.1f} s)",
            f"{100 * ours_b['predicted_accuracy']:.3f} ({ours_b['search_seconds']:.2f} s)",
            f"{100 * ours_b['predicted_accuracy_seed_mean']:.3f}",
        ]
        if paper is not None:
            paper_b = paper["per_budget"][index]
            row.append(
                f"{100 * paper_b['predicted_accuracy']:.3f} ({paper_b['search_seconds']:.2f} s) / "
                f"{100 * paper_b['predicted_accuracy_seed_mean']:.3f}"
            )
        rows.append(row)
    header = ["budget ms", "reference tutorial", "onceforall", "onceforall, mean of 5 seeds"]
    if paper is not None:
        header.append("onceforall, the paper's settings: seed 0 / mean of 5")
    defaults = note["onceforall"].get("settings")
    described = (
        f"ours: {defaults['islands']} islands of {defaults['population_size']} for "
        f"{defaults['generations']} generations, then the polish; the paper's settings: one "
        "population of 100 for 500 generations; "
        if defaults
        else ""
    )
    text += (
        "\n\n**Note10 specialization of ofa_mbv3_w12** (released predictor and Note10 tables, seed 0; "
        f"{described}predicted top-1 %, search time per budget):\n\n" + table(header, rows)
    )
    return text + f"\n\n{source(d, 'search.json')}."


def latency(d: dict[str, Any]) -> str:
    rows = []
    for name, b in d["backends"].items():
        stat = b["by_statistic"][b["statistic"]]
        rows.append(
            [
                name,
                b["distinct_operators"],
                f"{b['build_seconds']:.1f}",
                f"{stat['without_correction']['mape_percent']:.1f}",
                f"{stat['with_correction']['mape_percent']:.1f}",
                f"{stat['without_correction']['kendall_tau']:.2f}",
            ]
        )
    return (
        f"**Latency tables** ({d['supernet']}, 2 threads, batch 1, {d['backends']['torch']['validation_networks']} "
        "random whole networks measured end to end):\n\n"
        + table(
            ["backend", "distinct ops", "build s", "MAPE %", "MAPE % (corrected)", "Kendall tau"],
            rows,
        )
        + f"\n\n{source(d, 'latency_small_input.json')}."
    )


def recalibration(d: dict[str, Any]) -> str:
    return (
        f"**Sub-network evaluation** (BN re-calibration on {d['calibration_images']} images + accuracy on "
        f"{d['eval_images']}, max OFA-MobileNetV3 w1.0 sub-network at {d['resolution']} px, "
        f"{d['threads']} threads): reference `set_running_statistics` + eval {d['reference_seconds']:.1f} s, "
        f"onceforall {d['onceforall_seconds']:.1f} s: **{d['speedup']:.1f}x**. {source(d, 'bn_recalibration.json')}."
    )


def accuracy_dataset(d: dict[str, Any]) -> str:
    labels = {
        "straightforward": "before: static copy, re-calibrate, whole batches",
        "evaluate": "`Evaluator.evaluate` (nn/inference.py)",
        "dataset": "as `ofa predictor dataset` runs it (+ malloc_tuning.py)",
    }
    rows = [
        [
            run["threads"],
            label,
            f"{run['ways'][way]['wall_mean_s']:.2f}",
            f"{run['ways'][way]['cpu_mean_s']:.2f}",
            f"**{run['ways'][way]['speedup_wall']:.2f}x** / {run['ways'][way]['speedup_cpu']:.2f}x"
            if way != "straightforward"
            else "",
            run["ways"][way].get("max_accuracy_difference", ""),
        ]
        for run in d["runs"]
        for way, label in labels.items()
    ]
    images = next(iter(d["runs"][0]["images_per_resolution"].values()))
    return (
        f"**Accuracy dataset, seconds per sub-network** ({d['archs']} candidates of "
        f"{d['supernet']} trained briefly on Fashion-MNIST, {images['calibration']} calibration + "
        f"{images['evaluation']} held-out images each, each way in its own process, asked in "
        "turn):\n\n"
        + table(
            ["threads", "way", "wall s", "CPU s", "speed-up (wall / CPU)", "max accuracy diff."],
            rows,
        )
        + f"\n\n{source(d, 'accuracy_dataset.json')}. {d['notes']}"
    )


def foundation(d: dict[str, Any]) -> str:
    m = d["macs_counting"]
    overhead = ", ".join(
        f"{o['overhead_percent']:+.1f}% at batch {o['batch']} x {o['resolution']} px"
        for o in d["dynamic_overhead"]
    )
    return (
        f"**Counting**: MACs + params of {m['archs']:,} sampled archs at {m['onceforall_archs_per_s']:,} "
        f"archs/s, against {m['reference_ms_per_arch']:.0f} ms per arch for the reference's "
        f"`count_net_flops`. **Weight-sharing overhead** of the supernet's forward at its max arch over "
        f"the exported static network: {overhead}. {source(d, 'foundation.json')}."
    )


def export(d: dict[str, Any]) -> str:
    rows = []
    for case in d["results"]:
        by = {(entry["backend"], entry["batch_size"]): entry for entry in case["latency"]}
        for batch in sorted({entry["batch_size"] for entry in case["latency"]}):
            rows.append(
                [case["case"] if batch == 1 else "", batch]
                + [
                    f"{by[(b, batch)]['median_ms']:.2f}"
                    for b in ("pytorch", "torchscript", "onnxruntime")
                ]
            )
    return (
        f"**Exported networks** ({d['threads']} thread; median ms per call):\n\n"
        + table(["network", "batch", "PyTorch eager", "TorchScript", "ONNX Runtime"], rows)
        + f"\n\n{source(d, 'export.json')}."
    )


def int8(d: dict[str, Any]) -> str:
    rows = []
    for case in d["subnets"]:
        q, by = case["int8"], case["latency"]
        rows.append(
            [
                case["case"],
                f"{100 * q['float_onnx_top1']:.2f}% / {100 * q['int8_top1']:.2f}%",
                f"{100 * q['top1_agreement']:.1f}%",
                *(
                    f"{by[f'onnxruntime batch {n}']['median_ms']:.2f} / "
                    f"{by[f'onnxruntime-int8 batch {n}']['median_ms']:.2f}"
                    for n in (1, 8)
                ),
            ]
        )
    trained = d.get("training")
    phases = (
        ", ".join(f"phase {p['name']} ({p['epochs']:g} epochs)" for p in trained["phases"])
        + f" on {trained['train_subset'] or 'all'} {trained['dataset']} images"
        if trained
        else "see the JSON"
    )
    text = (
        f"**INT8 deployment** ({d['supernet']} trained {phases}, {d['threads']} thread; "
        f"{d['quantization']}; "
        f"top-1 on {d['subnets'][0]['int8']['test_images']} {d['subnets'][0]['int8']['test_split']}"
        " images; latency: median ms per call, float and INT8 ONNX timed side by side):\n\n"
        + table(
            [
                "sub-network",
                "top-1 float / INT8",
                "same class",
                "batch 1 ms float / INT8",
                "batch 8 ms float / INT8",
            ],
            rows,
        )
    )
    if "operators" in d:
        ops = d["operators"]["int8_over_float_by_type"]
        text += (
            f"\n\nINT8 / float time per operator type ({d['operators']['operators']} operators at "
            f"{d['operators']['resolution']} px, median ratio): "
            + ", ".join(f"{name} {entry['median_ratio']:.2f}" for name, entry in ops.items())
            + "."
        )
    if "int8_table" in d:
        t = d["int8_table"]
        raw, fit = t["without_correction"], t["with_correction"]
        text += (
            f"\n\nINT8 latency table ({t['operators']} quantized operators) against "
            f"{t['validation_networks']} whole INT8 networks: MAPE {raw['mape_percent']:.1f}%, "
            f"Kendall tau {raw['kendall_tau']:.3f}; with the linear correction fitted on "
            f"{t['calibration_networks']} others, MAPE {fit['mape_percent']:.1f}%, "
            f"tau {fit['kendall_tau']:.3f}."
        )
    return text + f"\n\n{source(d, 'int8.json')}. {d['note']}."


def study_config(d: dict[str, Any]) -> str:
    """The claims study's supernet config (results written before --config: the default)."""
    return str(d.get("config", "benchmarks/claims/fashion_mnist.yaml"))


def claims_ps_vs_scratch(d: dict[str, Any], folder: str = "claims") -> str:
    rows = [
        [
            r["label"],
            f"{r['macs'] / 1e6:.1f}",
            f"{100 * r['supernet_test_accuracy']:.2f}",
            " / ".join(f"{100 * s['test_accuracy']:.2f}" for s in r["scratch"]),
            f"{r['difference_pp']:+.2f}",
        ]
        for r in d["rows"]
    ]
    seeds = ", ".join(str(s) for s in d["seeds"])
    return (
        "**Claim 1: sub-networks of the supernet vs the same architectures trained alone** "
        f"(Fashion-MNIST test top-1 %; the supernet trained with progressive shrinking "
        f"(`{study_config(d)}`) in {d['supernet_train_seconds'] / 60:.1f} min; each sub-network "
        f"alone with the full-network phase's recipe, seeds {seeds}):\n\n"
        + table(["sub-network", "MMACs", "from supernet", "alone", "difference pp"], rows)
        + claims_ps_vs_scratch_summary(d)
        + f"\n\n{source(d, f'{folder}/ps_vs_scratch.json')}. "
        f"![claim 1](benchmarks/results/{folder}/ps_vs_scratch.png)"
    )


def claims_ps_vs_scratch_summary(d: dict[str, Any]) -> str:
    """The goal line and the full phase's held-out curve (results that record them)."""
    if "goal_met" not in d:
        return ""
    curve = ", ".join(
        f"{point['epoch']:.2f}: {100 * point['accuracy']:.1f}"
        for point in d.get("full_phase_heldout_curve", [])
    )
    text = (
        f"\n\n{d['train_images']:,} training images. Mean difference {d['mean_difference_pp']:+.2f} "
        f"pp, worst {d['worst_difference_pp']:+.2f} pp: the goal ({d['goal']}) is "
        f"{'met' if d['goal_met'] else 'not met'}."
    )
    if curve:
        text += f" Largest network's held-out top-1 % during the full phase (epoch: %): {curve}."
    return text


def claims_ablation(d: dict[str, Any], folder: str = "claims") -> str:
    variants = d["variants"]
    labels = list(next(iter(variants.values()))["test_accuracy"])
    rows = [
        [name, f"{v['train_seconds'] / 60:.1f}"]
        + [f"{100 * v['test_accuracy'][label]['accuracy']:.2f}" for label in labels]
        for name, v in variants.items()
    ]
    return (
        "**Claim 2: progressive shrinking vs all elastic dimensions at once vs the sandwich rule** "
        f"(same number of sub-network passes, {d['budget_pass_epochs']:.2f} epochs of them; "
        f"`{study_config(d)}`; Fashion-MNIST test top-1 %):\n\n"
        + table(["schedule", "train min", *labels], rows)
        + f"\n\n{source(d, f'{folder}/ablation.json')}. "
        f"![claim 2](benchmarks/results/{folder}/ablation.png)"
    )


def repeat_sentence(repeat: dict[str, Any] | None) -> str:
    """What a second, independent measurement of the held-out sub-networks says (the ceiling)."""
    if not repeat:
        return ""
    first, second = repeat["images"]
    return (
        f"\n\nThe same held-out sub-networks measured again on the next {second - first:,} "
        "held-out images (same BN calibration): the two measurements agree with Kendall tau "
        f"{repeat['kendall_tau_between_measurements']:.3f} (RMSE "
        f"{repeat['rmse_between_measurements_pp']:.2f} pp between them); the largest predictor "
        f"against that second measurement: tau {repeat['predictor_kendall_tau_vs_second']:.3f}, "
        f"RMSE {repeat['predictor_rmse_vs_second_pp']:.2f} pp. Ranking is bounded by the noise "
        "of the measurements it learns from."
    )


def claims_predictor(d: dict[str, Any], folder: str = "claims") -> str:
    rows = [
        [r["training_subnetworks"], f"{r['rmse_pp']:.2f}", f"{r['kendall_tau']:.3f}"]
        for r in d["by_training_size"]
    ]
    spread = d["measured_accuracy_percent"]
    return (
        "**Claim 3: accuracy predictor quality vs training sub-networks** (held-out RMSE and "
        f"Kendall tau on the same {d['held_out_records']} sub-networks never used for fitting; "
        f"measured top-1 on {d['eval_images']:,} held-out images of the {d['records']:,} random "
        "sub-networks spans "
        f"{spread['min']:.2f}-{spread['max']:.2f} %, median {spread['median']:.2f}):\n\n"
        + table(["training sub-networks", "RMSE pp", "Kendall tau"], rows)
        + repeat_sentence(d.get("measurement_repeat"))
        + "\n\nLatency tables against end-to-end measurement: see *Latency tables* below. "
        + f"{source(d, f'{folder}/predictor_quality.json')}. "
        f"![claim 3](benchmarks/results/{folder}/predictor_quality.png)"
    )


def claims_search(d: dict[str, Any], folder: str = "claims") -> str:
    rows = [
        [
            f"{p['budget_ms']:.3f}",
            p["method"],
            f"{p['table_latency_ms']:.3f}",
            f"{p['measured_latency_ms']['median_ms']:.3f}",
            f"{100 * p['heldout_accuracy']:.1f}" if "heldout_accuracy" in p else "",
            f"{100 * p['test_accuracy']:.2f}",
            f"{p['macs'] / 1e6:.1f}",
        ]
        for p in d["picks"]
    ]
    heldout = d.get("heldout_eval_images", 1000)
    return (
        "**Claim 4: search vs the best measured random sub-network vs uniform scaling** "
        f"(random: the best by held-out accuracy of the {d['random_pool']:,} measured random "
        f"sub-networks that fit; held-out: the {heldout:,} images the accuracy dataset used; "
        "latency: torch, batch 1, 2 threads):\n\n"
        + table(
            [
                "budget ms",
                "method",
                "table ms",
                "measured ms (median)",
                "held-out top-1 %",
                "test top-1 %",
                "MMACs",
            ],
            rows,
        )
        + f"\n\n{source(d, f'{folder}/search_quality.json')}. "
        f"![claim 4](benchmarks/results/{folder}/search_quality.png)"
    )


SECTIONS: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("demo.json", demo),
    ("ps_fashion_mnist.json", ps_fashion_mnist),
    *[
        (f"{folder}/{name}.json", partial(renderer, folder=folder))
        for folder in CLAIMS_FOLDERS
        for name, renderer in (
            ("ps_vs_scratch", claims_ps_vs_scratch),
            ("ablation", claims_ablation),
            ("predictor_quality", claims_predictor),
            ("search_quality", claims_search),
        )
    ],
    ("train_step.json", training_speed),
    ("search.json", search),
    ("latency_small_input.json", latency),
    ("bn_recalibration.json", recalibration),
    ("accuracy_dataset.json", accuracy_dataset),
    ("foundation.json", foundation),
    ("export.json", export),
    ("int8.json", int8),
]


def render() -> str:
    parts = [
        "Measured on this project's 2-core CPU machine (AMD EPYC, no GPU), reference implementation "
        "side by side where it applies. Machine load varies; each JSON records its settings."
    ]
    for name, fn in SECTIONS:
        path = RESULTS / name
        if path.is_file():
            parts.append(fn(json.loads(path.read_text())))
    return "\n\n".join(parts)


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    head, rest = text.split(START)
    _, tail = rest.split(END)
    temporary = readme.with_suffix(".tmp")
    temporary.write_text(f"{head}{START}\n{render()}\n{END}{tail}")
    temporary.replace(readme)


if __name__ == "__main__":
    main()
