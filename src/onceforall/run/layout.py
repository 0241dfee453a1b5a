"""The run folder: what `ofa search`, `ofa export` (and the demo) find in a run directory.

Layout (what `ofa train`, `ofa predictor fit --out RUN/predictor` and `ofa latency build
--out RUN/latency/...` write):

    RUN/config.yaml              the resolved run config: `supernet` (name) and `num_classes`
    RUN/checkpoints/last.pt      read only when config.yaml leaves num_classes to the data set
    RUN/predictor/predictor.pt   the fitted accuracy predictor
    RUN/latency/                 one latency table: a single .json file (besides the
                                 *.validation.json reports), or reference .yaml files

Search and export find the predictor and the latency table the same way, here. Values given on
the command line take precedence over what the run holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from onceforall.errors import SearchError

PREDICTOR_FILE = Path("predictor") / "predictor.pt"
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
    config_path = run / "config.yaml"
    if not config_path.is_file():
        raise SearchError(f"{run} is not a run directory (no config.yaml)")
    try:
        config = yaml.safe_load(config_path.read_text())
    except yaml.YAMLError as error:
        raise SearchError(f"{config_path}: invalid YAML ({error})".splitlines()[0]) from None
    if not isinstance(config, dict) or not isinstance(config.get("supernet"), str):
        raise SearchError(f"{config_path} names no supernet")
    num_classes = config.get("num_classes")
    if num_classes is None and (run / "checkpoints").is_dir():
        from onceforall.train.checkpoint import load_checkpoint

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
