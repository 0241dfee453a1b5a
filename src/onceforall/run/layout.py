"""The run folder: the names of what it holds, and what search and export find in it.

A run folder (what `ofa train`, `ofa predictor dataset/fit --out RUN/predictor` and `ofa latency
build --out RUN/latency/...` write):

    RUN/config.yaml              the resolved run config (run/config.py): `supernet`, `num_classes`
    RUN/checkpoints/             last.pt and one file per finished phase (run/checkpoints.py)
    RUN/metrics.jsonl            training events (train/metrics.py)
    RUN/plots/                   figures of the training
    RUN/predictor/               dataset.jsonl, predictor.pt (the fitted accuracy predictor)
    RUN/latency/                 one latency table: a single .json file (besides the
                                 *.validation.json reports), or reference .yaml files

Search and export find the predictor and the latency table the same way, here. Values given on
the command line take precedence over what the run holds. Torch-free (the CLI parses with it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from onceforall.errors import SearchError

CONFIG_FILE = "config.yaml"
CHECKPOINTS = "checkpoints"
METRICS_FILE = "metrics.jsonl"
PLOTS = "plots"
PREDICTOR_FOLDER = "predictor"
PREDICTOR_FILE = Path(PREDICTOR_FOLDER) / "predictor.pt"
LATENCY_FOLDER = Path("latency")


@dataclass(frozen=True)
class RunInputs:
    supernet: str
    num_classes: int | None
    predictor: Path | None  # None: the run holds no predictor yet
    latency_table: Path | None


def run_inputs(run: Path) -> RunInputs:
    """The supernet, predictor and latency table of a run directory (see the module docstring)."""
    run = Path(run)
    config_path = run / CONFIG_FILE
    if not config_path.is_file():
        raise SearchError(f"{run} is not a run directory (no config.yaml)")
    try:
        config = yaml.safe_load(config_path.read_text())
    except yaml.YAMLError as error:
        raise SearchError(f"{config_path}: invalid YAML ({error})".splitlines()[0]) from None
    if not isinstance(config, dict) or not isinstance(config.get("supernet"), str):
        raise SearchError(f"{config_path} names no supernet")
    num_classes = config.get("num_classes")
    if num_classes is None and (run / CHECKPOINTS).is_dir():
        from onceforall.run.checkpoints import load_checkpoint  # it imports this module

        num_classes = load_checkpoint(run).get("num_classes")
    return RunInputs(
        supernet=config["supernet"],
        num_classes=num_classes if isinstance(num_classes, int) else None,
        predictor=run_predictor(run),
        latency_table=run_latency_table(run),
    )


def run_predictor(run: Path) -> Path | None:
    """RUN/predictor/predictor.pt when there is one."""
    predictor = Path(run) / PREDICTOR_FILE
    return predictor if predictor.is_file() else None


def run_latency_table(run: Path) -> Path | None:
    """The latency table in RUN/latency (see the module docstring), None when there is none;
    SearchError when there are several."""
    folder = Path(run) / LATENCY_FOLDER
    if not folder.is_dir():
        return None
    tables = sorted(p for p in folder.glob("*.json") if not p.name.endswith(".validation.json"))
    if len(tables) == 1:
        return tables[0]
    if len(tables) > 1:
        names = ", ".join(t.name for t in tables)
        raise SearchError(f"{folder} holds several latency tables ({names}): pick one")
    if any(folder.glob("*.yaml")):
        return folder
    return None
