"""What `ofa predictor fit` and `ofa predictor report` do, from files to files.

fit:    DATASET.jsonl -> (test split held out) -> fit -> OUT/predictor.pt, OUT/report.json
        (held-out RMSE / Kendall tau, the fit settings and per-epoch history),
        OUT/predicted_vs_measured.png
report: PREDICTOR + DATASET.jsonl -> OUT/report.json, OUT/predicted_vs_measured.png
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from onceforall.atomic_files import check_output_folder
from onceforall.errors import PredictorError
from onceforall.models.registry import supernet_space
from onceforall.predict.accuracy import load_predictor
from onceforall.predict.fit import fit_predictor, split_rows
from onceforall.predict.fit_config import FitConfig
from onceforall.predict.records import read_accuracy_records
from onceforall.predict.report import PLOT_FILE, evaluate_predictor, write_report

PREDICTOR_FILE = "predictor.pt"


def fit_from_dataset(
    dataset: Path,
    supernet: str,
    out: Path,
    config: FitConfig | None = None,
    *,
    num_classes: int | None = None,
    test_fraction: float = 0.2,
    progress: bool = True,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Fit on all but a held-out `test_fraction` of the records; report on the held-out ones.

    An `out` that already holds a predictor is refused unless `overwrite`.
    """
    if not 0.0 < test_fraction < 1.0:
        raise PredictorError(f"test_fraction must be in (0, 1), got {test_fraction}")
    check_output_folder(out, PredictorError)
    if (out / PREDICTOR_FILE).exists() and not overwrite:
        raise PredictorError(
            f"{out} already holds {PREDICTOR_FILE}; pass --overwrite to replace it, or choose "
            "another --out"
        )
    config = FitConfig() if config is None else config
    space = supernet_space(supernet, num_classes)
    records = read_accuracy_records(dataset, space)
    fit_rows, test_rows = split_rows(len(records), test_fraction, config.seed, 0)
    result = fit_predictor(
        space, records.subset(fit_rows), config, supernet=supernet, progress=progress
    )
    held_out = records.subset(test_rows)
    report, predicted = evaluate_predictor(result.predictor, space, held_out)
    extra = {
        "dataset": str(dataset),
        "supernet": supernet,
        "records": len(records),
        "test_fraction": test_fraction,
        "predictor": str(out / PREDICTOR_FILE),
        "fit": dataclasses.asdict(config)
        | {
            "best_epoch": result.best_epoch,
            "train_size": result.train_size,
            "validation_size": result.validation_size,
        },
        "history": [dataclasses.asdict(epoch) for epoch in result.history],
    }
    (out / PLOT_FILE).unlink(missing_ok=True)  # an earlier fit's plot (a new one may be skipped)
    result.predictor.save(out / PREDICTOR_FILE)
    title = f"{supernet}: fitted predictor, held-out {len(held_out)} sub-networks"
    write_report(out, report, predicted, held_out.accuracy, extra, title)
    return {"held_out": report.to_json(), **extra}


def report_on_dataset(
    predictor_path: Path,
    dataset: Path,
    supernet: str,
    out: Path,
    *,
    num_classes: int | None = None,
) -> dict[str, Any]:
    """How a saved (or the released) predictor scores every record of `dataset`."""
    space = supernet_space(supernet, num_classes)
    predictor = load_predictor(predictor_path)
    predictor.check_space(space, supernet)
    records = read_accuracy_records(dataset, space)
    report, predicted = evaluate_predictor(predictor, space, records)
    extra = {"dataset": str(dataset), "supernet": supernet, "predictor": str(predictor_path)}
    title = f"{supernet}: {Path(predictor_path).name} on {len(records)} sub-networks"
    write_report(out, report, predicted, records.accuracy, extra, title)
    return {"held_out": report.to_json(), **extra}
