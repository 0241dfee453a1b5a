"""`ofa search`: specialize a supernet for budgets with an accuracy predictor (and latency table).

    ofa search --supernet ofa_mbv3_w12 --predictor acc_predictor.pth \\
        --latency-table note10/ --max-latency-ms 15 20 25 30 --seed 0 --out DIR
    ofa search RUN --max-macs 400M --out DIR       # supernet, predictor, table from a run
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from onceforall.cli import numbers
from onceforall.cli.output import print_table
from onceforall.errors import SearchError
from onceforall.run.layout import run_inputs
from onceforall.search.configs import EvolutionConfig, ParetoConfig
from onceforall.search.constraints import METRICS, Budget, budgets_from_lists

if TYPE_CHECKING:
    from onceforall.search.run import SearchRequest

_SUFFIXES = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9}
_ALIASES = {"latency": "latency_ms", "latency_ms": "latency_ms", "macs": "macs", "params": "params"}


def count(text: str) -> float:
    """`400M`, `4.5e8`, `400000000`, `1.2G` -> a number."""
    match = re.fullmatch(r"\s*([0-9.]+(?:e[+-]?[0-9]+)?)\s*([kKmMgG]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a count: {text!r} (e.g. 400M, 4e8)")
    value = float(match.group(1)) * _SUFFIXES[match.group(2).lower()]
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def budget_spec(text: str) -> Budget:
    """`latency=15,macs=400M` (keys latency|latency_ms, macs, params) -> one budget."""
    bounds: dict[str, float] = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        name = _ALIASES.get(key.strip().lower())
        if name is None or not value:
            raise argparse.ArgumentTypeError(
                f"bad budget {text!r}: use key=value pairs with keys latency, macs, params"
            )
        bounds[name] = positive(value) if name == "latency_ms" else count(value)
    return Budget(**{f"max_{name}": bounds.get(name) for name in METRICS})


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "search",
        help="find the best sub-network per budget (evolution) and the Pareto front",
        description="Evolutionary search (the paper's settings by default) for the sub-network "
        "of highest predicted accuracy within each budget; writes OUT/search.json.",
    )
    parser.add_argument(
        "run_dir", nargs="?", type=Path, metavar="RUN", help="a run directory (optional)"
    )
    parser.add_argument("--supernet", help="supernet name (default: the run's)")
    parser.add_argument("--num-classes", type=numbers.num_classes, default=None)
    parser.add_argument("--predictor", type=Path, help="predictor file (default: the run's)")
    parser.add_argument("--latency-table", type=Path, help="table .json/.yaml or a folder")
    parser.add_argument("--max-latency-ms", type=positive, nargs="+", default=[], metavar="MS")
    parser.add_argument("--max-macs", type=count, nargs="+", default=[], metavar="MACS")
    parser.add_argument("--max-params", type=count, nargs="+", default=[], metavar="N")
    parser.add_argument(
        "--budgets",
        type=budget_spec,
        nargs="+",
        default=[],
        metavar="SPEC",
        help="more budgets, each like latency=20,macs=400M",
    )
    parser.add_argument("--algorithm", choices=("evolution", "random"), default="evolution")
    parser.add_argument("--pareto", action="store_true", help="also the NSGA-II Pareto front")
    parser.add_argument("--objective", choices=METRICS, help="Pareto cost (default: latency)")
    parser.add_argument("--seed", type=numbers.seed, default=0)
    defaults = EvolutionConfig()
    parser.add_argument("--population", type=numbers.positive_int, default=defaults.population_size)
    parser.add_argument(
        "--generations", type=numbers.non_negative_int, default=defaults.generations
    )
    parser.add_argument(
        "--islands",
        type=numbers.positive_int,
        default=defaults.islands,
        help=f"independent populations per budget (default {defaults.islands}; the paper: 1)",
    )
    parser.add_argument(
        "--polish-rounds",
        type=numbers.non_negative_int,
        default=defaults.polish_rounds,
        help="hill-climbing moves from the best found (0: none, as the paper)",
    )
    parser.add_argument("--parent-ratio", type=numbers.probability, default=defaults.parent_ratio)
    parser.add_argument(
        "--mutation-ratio", type=numbers.probability, default=defaults.mutation_ratio
    )
    parser.add_argument("--mutation-prob", type=numbers.probability, default=defaults.mutation_prob)
    parser.add_argument(
        "--resolution-mutation-prob",
        type=numbers.probability,
        default=defaults.resolution_mutation_prob,
    )
    parser.add_argument("--random-samples", type=numbers.positive_int, default=50_100)
    parser.add_argument(
        "--pareto-generations", type=numbers.non_negative_int, default=ParetoConfig().generations
    )
    parser.add_argument(
        "--threads",
        type=numbers.threads,
        default=1,
        help="torch threads for the predictor (default 1: its batches are small, and a second "
        "thread costs more in synchronization than it saves, badly so on a busy machine)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the results of an earlier search in --out"
    )
    parser.set_defaults(run=run)


def request_from_args(args: argparse.Namespace) -> SearchRequest:
    from onceforall.search.run import SearchRequest

    supernet, num_classes, predictor, table = args.supernet, args.num_classes, None, None
    if args.run_dir is not None:
        inputs = run_inputs(args.run_dir)
        supernet = supernet or inputs.supernet
        num_classes = num_classes if num_classes is not None else inputs.num_classes
        predictor, table = inputs.predictor, inputs.latency_table
    if supernet is None:
        raise SearchError("give a run directory or --supernet")
    predictor = args.predictor or predictor
    if predictor is None:
        raise SearchError("no predictor: give --predictor (or fit one into RUN/predictor)")
    budgets: list[Budget] = []
    if args.max_latency_ms or args.max_macs or args.max_params:
        budgets = budgets_from_lists(
            max_macs=args.max_macs,
            max_params=args.max_params,
            max_latency_ms=args.max_latency_ms,
        )
    return SearchRequest(
        supernet=supernet,
        predictor=predictor,
        out=args.out,
        budgets=tuple(budgets + args.budgets),
        num_classes=num_classes,
        latency_table=args.latency_table or table,
        algorithm=args.algorithm,
        evolution=EvolutionConfig(
            population_size=args.population,
            generations=args.generations,
            islands=args.islands,
            polish_rounds=args.polish_rounds,
            parent_ratio=args.parent_ratio,
            mutation_ratio=args.mutation_ratio,
            mutation_prob=args.mutation_prob,
            resolution_mutation_prob=args.resolution_mutation_prob,
        ),
        random_samples=args.random_samples,
        pareto=args.pareto,
        pareto_config=ParetoConfig(generations=args.pareto_generations),
        objective=args.objective,
        seed=args.seed,
        progress=not args.quiet,
        overwrite=args.overwrite,
    )


def run(args: argparse.Namespace) -> int:
    from onceforall.search.run import run_search

    request = request_from_args(args)
    if args.threads < 1:
        raise SearchError(f"--threads must be at least 1, got {args.threads}")
    import torch

    torch.set_num_threads(args.threads)
    payload = run_search(request)
    rows = [
        [
            ", ".join(f"{k[4:]}<={v:g}" for k, v in result["budget"].items() if v is not None),
            f"{100 * result['predicted_accuracy']:.2f}",
            f"{result['macs'] / 1e6:.1f}",
            "-" if result["latency_ms"] is None else f"{result['latency_ms']:.2f}",
            result["arch_string"],
        ]
        for result in payload["results"]
    ]
    if rows:
        print_table(["budget", "pred. top-1 %", "MMACs", "latency ms", "arch"], rows)
    print(f"search: {payload['search_seconds']:.3f} s; wrote {args.out / 'search.json'}")
    return 0
