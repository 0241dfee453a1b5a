"""Search benchmarks: speed and quality against the reference implementation, side by side.

    pip install pymoo   # optional, for section 3
    python benchmarks/bench_search.py [--only macs note10 pareto] [--reference-seeds 0]

1. MACs budget (400 MMACs, ofa_mbv3_w12, 1000 classes, resolutions 128..224 step 16, the released
   predictor): the reference's ofa.nas EvolutionFinder (its MLP predictor class holding the
   released weights, its FLOPs model over its supernet) against ours with the same
   hyperparameters (population 100, 500 generations, 25% parents, 50% mutation, gene mutation
   0.1, resolution mutation 0.5), weights, budget and seed: seconds (ours with 1 and 2 predictor
   threads) and best predicted accuracy (ours also over --seeds seeds).
2. Note10 latency budgets 15/20/25/30 ms (the released predictor, the reference's Note10 tables):
   the reference tutorial's EvolutionFinder (ofa/tutorial/evolution_finder.py, seeded with
   random.seed / np.random.seed) against ours, per budget: predicted accuracy, latency, seconds;
   ours with its defaults (5 islands of 100 for 100 generations, then the polish), with the
   paper's settings (one population, 500 generations, no polish) and with the tutorial's
   resolution mutation probability (0.1), each over --note10-seeds.
3. Pareto front of predicted accuracy vs Note10 latency: our NSGA-II (at G and 2G generations,
   the second about pymoo's time), pymoo's NSGA-II (integer SBX + polynomial mutation, duplicates
   eliminated) at G generations, and random sampling of as many sub-networks: seconds and
   hypervolume (search.pareto.HypervolumeBox).

Writes benchmarks/results/search.json (with --only, the other sections of the file are kept).
--threads (default 1) sets the predictor's torch threads for both sides. Timings on a shared
2-core machine are noisy: the load average is recorded at start and end.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import itertools
import json
import os
import platform
import random
import statistics
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from onceforall.arch.mbv3 import MBv3Space
from onceforall.atomic_files import atomic_write_json
from onceforall.latency.load import load_latency_table
from onceforall.models.registry import supernet_space
from onceforall.predict.accuracy import AccuracyPredictor, load_predictor
from onceforall.search.configs import EvolutionConfig, ParetoConfig
from onceforall.search.constraints import Budget
from onceforall.search.costs import population_costs
from onceforall.search.evolution import evolution_search
from onceforall.search.pareto import front_2d, hypervolume_box, pareto_search
from onceforall.search.problem import PredictionCache, SearchProblem, search_problem

DATA = Path(__file__).resolve().parents[2] / "shared" / "reference-data" / "ofa"
MACS_RESOLUTIONS = tuple(range(128, 225, 16))  # the resolutions the released predictor tells apart
NOTE10_BUDGETS = (15.0, 20.0, 25.0, 30.0)
# the paper's and the reference's search: one population of 100, 500 generations, no polish
PAPER_SETTINGS = EvolutionConfig(islands=1, generations=500, polish_rounds=0)


def reference(module: str) -> Any:
    """A reference module, or None; its tutorial package imports gdown (a stub is enough)."""
    sys.modules.setdefault("gdown", types.ModuleType("gdown"))
    try:
        from onceforall.compat.reference_oracle import import_reference

        return import_reference(module)
    except ImportError:
        return None


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def w12(resolutions: tuple[int, ...] | None = None) -> MBv3Space:
    space = supernet_space("ofa_mbv3_w12", 1000)
    assert isinstance(space, MBv3Space)
    return space if resolutions is None else space.restrict(resolutions=resolutions)


# --- 1. MACs budget ---------------------------------------------------------------------------


def reference_nas_predictor(nas_acc: Any, state: dict[str, torch.Tensor]) -> Any:
    """The reference's ofa.nas AccuracyPredictor holding the released weights.

    Its encoder orders the inputs [resolution one-hot | kernel one-hots | expand one-hots] with
    one input per listed resolution; the released MLP has [kernel | expand | 8 resolution bins of
    16 px from 112]: the first layer's columns are reordered, the last bias becomes `base_acc`.
    """
    encoder = nas_acc.MobileNetArchEncoder(
        image_size_list=list(MACS_RESOLUTIONS),
        ks_list=[3, 5, 7],
        expand_list=[3, 4, 6],
        depth_list=[2, 3, 4],
    )
    predictor = nas_acc.AccuracyPredictor(encoder, hidden_size=400, n_layers=3, device="cpu")
    columns = [120 + (r - 112) // 16 for r in MACS_RESOLUTIONS] + list(range(120))
    mapped = {
        "layers.0.0.weight": state["0.weight"][:, columns],
        "layers.0.0.bias": state["0.bias"],
        "layers.1.0.weight": state["2.weight"],
        "layers.1.0.bias": state["2.bias"],
        "layers.2.0.weight": state["4.weight"],
        "layers.2.0.bias": state["4.bias"],
        "layers.3.weight": state["6.weight"],
        "base_acc": state["6.bias"],
    }
    predictor.load_state_dict(mapped)
    return predictor.eval()


def bench_macs(
    args: argparse.Namespace, predictor: AccuracyPredictor, state: Any
) -> dict[str, Any]:
    space = w12(MACS_RESOLUTIONS)
    budget_mmacs = args.macs_budget
    config = PAPER_SETTINGS  # the reference's hyperparameters, like for like

    def ours(seed: int) -> Any:
        problem = search_problem(space, predictor, supernet="ofa_mbv3_w12")
        return evolution_search(problem, [Budget(max_macs=budget_mmacs * 1e6)], config, seed=seed)[
            0
        ]

    ours(0)  # warm-up: imports, allocator
    by_threads = {}
    for threads in (2, 1):  # the predictor's torch threads (numpy work is single-threaded)
        torch.set_num_threads(threads)
        by_threads[threads] = [timed(lambda: ours(0))[1] for _ in range(args.repeats)]
    torch.set_num_threads(args.threads)
    seconds = by_threads[args.threads] if args.threads in by_threads else by_threads[1]
    by_seed = {seed: ours(seed) for seed in range(args.seeds)}
    result: dict[str, Any] = {
        "budget_mmacs": budget_mmacs,
        "supernet": "ofa_mbv3_w12",
        "resolutions": list(MACS_RESOLUTIONS),
        "hyperparameters": dataclasses.asdict(config),
        "onceforall": {
            "seconds_median": statistics.median(seconds),
            "seconds_min": min(seconds),
            "seconds_all": seconds,
            "seconds_median_by_threads": {t: statistics.median(v) for t, v in by_threads.items()},
            "seconds_min_by_threads": {t: min(v) for t, v in by_threads.items()},
            "seed0_predicted_accuracy": by_seed[0].predicted_accuracy,
            "seed0_macs": by_seed[0].macs,
            "seed0_arch": str(by_seed[0].arch),
            "predicted_accuracy_by_seed": [by_seed[s].predicted_accuracy for s in by_seed],
            "distinct_archs_scored_seed0": by_seed[0].evaluated,
        },
    }
    nas_acc = reference("ofa.nas.accuracy_predictor")
    nas_eff = reference("ofa.nas.efficiency_predictor")
    nas_evo = reference("ofa.nas.search_algorithm")
    networks = reference("ofa.imagenet_classification.elastic_nn.networks")
    if None in (nas_acc, nas_eff, nas_evo, networks) or args.skip_reference:
        result["reference"] = "not run (not installed or --skip-reference)"
        return result
    ref_predictor = reference_nas_predictor(nas_acc, state)
    ofa_net = networks.OFAMobileNetV3(
        n_classes=1000,
        dropout_rate=0,
        width_mult=1.2,
        ks_list=[3, 5, 7],
        expand_ratio_list=[3, 4, 6],
        depth_list=[2, 3, 4],
    )
    flops_model = nas_eff.Mbv3FLOPsModel(ofa_net)
    checks = {"seconds": 0.0, "calls": 0}
    count_flops = flops_model.get_efficiency

    def timed_flops(arch_dict: dict[str, Any]) -> float:
        start = time.perf_counter()
        value = count_flops(arch_dict)
        checks["seconds"] += time.perf_counter() - start
        checks["calls"] += 1
        return float(value)

    flops_model.get_efficiency = timed_flops
    # the same predictions and MACs as ours on the same archs (sanity of the comparison)
    sample = space.sample_population(300, np.random.default_rng(0))
    archs = space.from_population(sample)
    dicts = [space.to_reference_dict(a) for a in archs]
    nas_dicts = [{"ks": d["ks"], "e": d["e"], "d": d["d"], "image_size": d["r"][0]} for d in dicts]
    with torch.no_grad():
        theirs = ref_predictor.predict_acc(nas_dicts).numpy()
    agreement = {
        "max_abs_prediction_diff": float(
            np.abs(theirs - predictor.predict_population(space, sample)).max()
        ),
        "max_abs_mmacs_diff": float(
            max(
                abs(count_flops(d) - m / 1e6)
                for d, m in zip(nas_dicts, space.macs_population(sample), strict=True)
            )
        ),
    }
    runs = []
    for seed in args.reference_seeds:
        finder = nas_evo.EvolutionFinder(flops_model, ref_predictor)
        random.seed(seed)
        np.random.seed(seed)
        checks.update(seconds=0.0, calls=0)
        with contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
            (_, best), seconds_ref = timed(
                lambda f=finder: f.run_evolution_search(budget_mmacs, verbose=False)
            )
        best_acc, best_dict, best_mmacs = best
        arch = space.from_reference_dict(
            {"ks": best_dict["ks"], "e": best_dict["e"], "d": best_dict["d"]},
            resolution=best_dict["image_size"],
        )
        runs.append(
            {
                "seed": seed,
                "seconds": seconds_ref,
                "constraint_check_seconds": checks["seconds"],
                "constraint_checks": checks["calls"],
                "predicted_accuracy": float(best_acc),
                "our_prediction_of_its_arch": predictor.predict(space, arch),
                "mmacs": float(best_mmacs),
                "arch": str(arch),
            }
        )
    seed0 = next((r for r in runs if r["seed"] == 0), runs[0])
    result["reference"] = {"runs": runs, "agreement": agreement}
    result["speedup_vs_reference_seed0"] = seed0["seconds"] / result["onceforall"]["seconds_median"]
    result["accuracy_gain_pp_seed0"] = 100 * (
        result["onceforall"]["seed0_predicted_accuracy"] - seed0["predicted_accuracy"]
    )
    return result


# --- 2. Note10 --------------------------------------------------------------------------------


def tutorial_latency_table(tutorial_latency: Any) -> Any:
    """The tutorial's LatencyTable on the local Note10 YAMLs (it would download them, and reads
    them with a yaml.load call that PyYAML 6 no longer accepts)."""
    table = object.__new__(tutorial_latency.LatencyTable)
    table.latency_tables = {}
    for resolution in range(160, 225, 16):
        estimator = object.__new__(tutorial_latency.LatencyEstimator)
        estimator.lut = yaml.safe_load(
            (DATA / "note10" / f"{resolution}_lookup_table.yaml").read_text()
        )
        table.latency_tables[resolution] = estimator
    return table


def bench_note10(
    args: argparse.Namespace, predictor: AccuracyPredictor, state: Any
) -> dict[str, Any]:
    space = w12()
    latency = load_latency_table(DATA / "note10", space)
    budgets = [Budget(max_latency_ms=b) for b in NOTE10_BUDGETS]
    result: dict[str, Any] = {
        "budgets_ms": list(NOTE10_BUDGETS),
        "problem_seconds": problem_seconds(space, predictor, latency),
    }
    for label, config in (
        ("onceforall", EvolutionConfig()),
        ("onceforall_paper_settings", PAPER_SETTINGS),
        ("onceforall_tutorial_mutation", EvolutionConfig(resolution_mutation_prob=0.1)),
    ):

        def run(budget_list: list[Budget], config: EvolutionConfig = config, seed: int = 0) -> Any:
            problem: SearchProblem = search_problem(
                space, predictor, latency, supernet="ofa_mbv3_w12"
            )
            return evolution_search(problem, budget_list, config, seed=seed)

        together, seconds_together = timed(lambda run=run: run(budgets))
        alone = [timed(lambda b=b, run=run: run([b])) for b in budgets]
        problem = search_problem(space, predictor, latency, supernet="ofa_mbv3_w12")
        search_only = [
            timed(lambda b=b, c=config, p=problem: evolution_search(p, [b], c, seed=0))
            for b in budgets
        ]
        seeds = [
            [r.predicted_accuracy for r in run(budgets, seed=seed)]
            for seed in range(args.note10_seeds)
        ]
        result[label] = {
            "settings": dataclasses.asdict(config),
            "resolution_mutation_prob": config.resolution_mutation_prob,
            "seconds_all_budgets_in_one_call": seconds_together,
            "per_budget": [
                {
                    "budget_ms": b.max_latency_ms,
                    "predicted_accuracy": r.predicted_accuracy,
                    "latency_ms": r.latency_ms,
                    "mmacs": r.macs / 1e6,
                    "arch": str(r.arch),
                    "seconds_alone": seconds,
                    "search_seconds": searched,
                    "same_arch_alone": single[0].arch == r.arch,
                    "predicted_accuracy_seeds": [accuracies[i] for accuracies in seeds],
                    "predicted_accuracy_seed_mean": statistics.mean(a[i] for a in seeds),
                }
                for i, (b, r, (single, seconds), (_, searched)) in enumerate(
                    zip(budgets, together, alone, search_only, strict=True)
                )
            ],
        }
    tutorial_acc = reference("ofa.tutorial.accuracy_predictor")
    tutorial_evo = reference("ofa.tutorial.evolution_finder")
    tutorial_lat = reference("ofa.tutorial.latency_table")
    if None in (tutorial_acc, tutorial_evo, tutorial_lat) or args.skip_reference:
        earlier = json.loads(args.out.read_text()).get("note10", {}) if args.out.exists() else {}
        if isinstance(earlier.get("reference"), dict):
            result["reference"] = earlier["reference"] | {
                "note": "not run now (--skip-reference): kept from an earlier run of this file"
            }
        else:
            result["reference"] = "not run (not installed or --skip-reference)"
        return result
    ref_predictor = tutorial_acc.AccuracyPredictor(pretrained=False, device="cpu")
    ref_predictor.model.load_state_dict(state)
    table = tutorial_latency_table(tutorial_lat)
    runs = []
    for seed, budget in itertools.product(args.note10_reference_seeds, NOTE10_BUDGETS):
        finder = tutorial_evo.EvolutionFinder("note10", budget, table, ref_predictor)
        random.seed(seed)
        np.random.seed(seed)
        with contextlib.redirect_stderr(io.StringIO()):
            (_, best), seconds = timed(finder.run_evolution_search)
        best_acc, spec, best_latency = best
        arch = space.from_reference_dict({k: spec[k] for k in ("ks", "e", "d", "r")})
        runs.append(
            {
                "seed": seed,
                "budget_ms": budget,
                "seconds": seconds,
                "predicted_accuracy": float(best_acc),
                "latency_ms": float(best_latency),
                "our_latency_of_its_arch": latency.predict(arch),
                "mmacs": space.macs(arch) / 1e6,
                "arch": str(arch),
            }
        )
    result["reference"] = {"per_budget": runs}
    return result


def problem_seconds(
    space: MBv3Space, predictor: AccuracyPredictor, latency: Any, repeats: int = 3
) -> dict[str, Any]:
    """Building the search's cost tables: read from the space and the latency model (now) vs
    recovered by probing the cost functions (before issue 17), interleaved, medians."""
    functions = {
        "macs": space.macs_population,
        "params": space.params_population,
        "latency_ms": latency.predict_population,
    }
    read, probed = [], []
    for _ in range(repeats):
        read.append(timed(lambda: search_problem(space, predictor, latency))[1])
        restricted = space.restrict_choices({"resolutions": latency.resolutions})
        probed.append(timed(lambda r=restricted: population_costs(r, functions))[1])
    return {
        "tables_read": statistics.median(read),
        "tables_probed": statistics.median(probed),
        "probed_over_read": statistics.median(probed) / statistics.median(read),
    }


# --- 3. Pareto --------------------------------------------------------------------------------


def pymoo_front(problem: SearchProblem, population: int, generations: int, seed: int) -> Any:
    """pymoo's NSGA-II on gene indices (its integer operators), scored by the same predictor."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.operators.sampling.rnd import IntegerRandomSampling
    from pymoo.optimize import minimize

    operators, space = problem.operators, problem.space
    scorer = PredictionCache(problem)
    latency = problem.costs.subset(("latency_ms",))
    seen: list[np.ndarray] = []

    class Search(Problem):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(
                n_var=operators.width, n_obj=2, xl=0, xu=operators.counts - 1, vtype=int
            )

        def _evaluate(self, x: np.ndarray, out: dict[str, Any], *_: Any, **__: Any) -> None:
            index = np.clip(np.rint(x).astype(np.int64), 0, operators.counts - 1)
            rows = operators.canonical(operators.choices[np.arange(operators.width), index])
            seen.append(rows)
            out["F"] = np.column_stack([-scorer(rows), latency.evaluate(rows)[:, 0]])

    algorithm = NSGA2(
        pop_size=population,
        sampling=IntegerRandomSampling(),
        crossover=SBX(prob=1.0, eta=3.0, vtype=float, repair=RoundingRepair()),
        mutation=PM(prob=1.0, eta=3.0, vtype=float, repair=RoundingRepair()),
        eliminate_duplicates=True,
    )
    minimize(Search(), algorithm, ("n_gen", generations + 1), seed=seed, verbose=False)
    rows = np.unique(np.concatenate(seen), axis=0)
    assert space.contains_population(rows).all()
    return rows, scorer


def bench_pareto(args: argparse.Namespace, predictor: AccuracyPredictor) -> dict[str, Any]:
    space = w12()
    latency = load_latency_table(DATA / "note10", space)
    problem = search_problem(space, predictor, latency, supernet="ofa_mbv3_w12")
    box = hypervolume_box(problem, "latency_ms")
    config = ParetoConfig(population_size=100, generations=args.pareto_generations)
    result: dict[str, Any] = {
        "objective": "latency_ms (Note10 tables)",
        "population": config.population_size,
        "generations": config.generations,
        "hypervolume_box": dataclasses.asdict(box),
    }

    def summary(rows: np.ndarray, scorer: PredictionCache, seconds: float) -> dict[str, Any]:
        accuracy = scorer(rows)
        cost = problem.costs.subset(("latency_ms",)).evaluate(rows)[:, 0]
        front = front_2d(cost, accuracy)
        return {
            "seconds": seconds,
            "hypervolume": box.hypervolume(cost[front], accuracy[front]),
            "front_points": len(front),
            "distinct_archs_scored": len(rows),
            "best_accuracy": float(accuracy.max()),
        }

    ours: dict[int, list[dict[str, Any]]] = {}
    for generations in (config.generations, 2 * config.generations):  # the second: equal time
        setting = dataclasses.replace(config, generations=generations)
        ours[generations] = []
        for seed in range(args.pareto_seeds):
            front, seconds = timed(
                lambda seed=seed, setting=setting: pareto_search(problem, config=setting, seed=seed)
            )
            ours[generations].append(
                {
                    "seed": seed,
                    "seconds": seconds,
                    "hypervolume": front.hypervolume,
                    "front_points": len(front.points),
                    "distinct_archs_scored": front.evaluated,
                }
            )
    result["onceforall_nsga2"] = {f"{g}_generations": runs for g, runs in ours.items()}
    evaluations = config.population_size * (config.generations + 1)
    baseline = []
    for seed in range(args.pareto_seeds):
        start = time.perf_counter()
        rows = np.unique(
            problem.operators.sample(evaluations, np.random.default_rng([seed, 9])), axis=0
        )
        scorer = PredictionCache(problem)
        scorer(rows)
        baseline.append({"seed": seed, **summary(rows, scorer, time.perf_counter() - start)})
    result["random_sampling"] = baseline
    try:
        import pymoo
    except ImportError:
        result["pymoo"] = "not installed (pip install pymoo)"
        return result
    theirs = []
    for seed in range(args.pareto_seeds):
        start = time.perf_counter()
        rows, scorer = pymoo_front(problem, config.population_size, config.generations, seed)
        theirs.append({"seed": seed, **summary(rows, scorer, time.perf_counter() - start)})
    result["pymoo_nsga2"] = {"version": pymoo.__version__, "runs": theirs}
    same, double = ours[config.generations], ours[2 * config.generations]
    runs = {
        f"onceforall_{config.generations}_generations": same,
        f"onceforall_{2 * config.generations}_generations": double,
        f"pymoo_{config.generations}_generations": theirs,
        "random_sampling": baseline,
    }
    result["mean"] = {
        name: {
            "hypervolume": statistics.mean(r["hypervolume"] for r in rows),
            "seconds": statistics.mean(r["seconds"] for r in rows),
        }
        for name, rows in runs.items()
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--macs-budget", type=float, default=400.0, help="MMACs")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--reference-seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--note10-seeds", type=int, default=5, help="our seeds per budget")
    parser.add_argument("--note10-reference-seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--pareto-generations", type=int, default=100)
    parser.add_argument("--pareto-seeds", type=int, default=3)
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--only", choices=("macs", "note10", "pareto"), nargs="+")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/search.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    predictor = load_predictor(DATA / "acc_predictor.pth")
    state = torch.load(DATA / "acc_predictor.pth", map_location="cpu", weights_only=True)
    sections = args.only or ("macs", "note10", "pareto")
    # --only: the other sections of an earlier run stay in the file
    result: dict[str, Any] = (
        json.loads(args.out.read_text()) if args.only and args.out.exists() else {}
    )
    result |= {
        "command": "python " + " ".join(sys.argv),
        "machine": {
            "cpu_count": os.cpu_count(),
            "threads": args.threads,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "load_average_at_start": os.getloadavg(),
        },
        "note": "timings on a 2-core machine shared with other jobs: noisy",
    }
    if "macs" in sections:
        result["macs_budget"] = bench_macs(args, predictor, state)
        print(json.dumps(result["macs_budget"]), flush=True)
    if "note10" in sections:
        result["note10"] = bench_note10(args, predictor, state)
        print(json.dumps(result["note10"]), flush=True)
    if "pareto" in sections:
        result["pareto"] = bench_pareto(args, predictor)
        print(json.dumps(result["pareto"]), flush=True)
    result["machine"]["load_average_at_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out, result)


if __name__ == "__main__":
    main()
