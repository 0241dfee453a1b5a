"""Tidying a run folder when a run starts or resumes, after any kind of stop (even kill -9).

- temporaries (`.last.pt.tmp-PID`, `.config.yaml.tmp-PID`, ...) of processes that are gone;
- metrics.jsonl events after the position the run continues from (the resumed run writes them
  again, so each step is in the file once after any number of resumes);
- the checkpoint of the phase just finished, rebuilt from last.pt if it is missing.
"""

from __future__ import annotations

from pathlib import Path

from onceforall.atomic_files import remove_stale_temporaries
from onceforall.errors import ConfigError
from onceforall.run.checkpoints import Position, last_checkpoint
from onceforall.run.config import RunConfig
from onceforall.run.layout import CHECKPOINTS, PLOTS
from onceforall.train.checkpoint import restore_phase_checkpoint
from onceforall.train.metrics import MetricsLog
from onceforall.value_checks import check_count

FOLDERS = ("", CHECKPOINTS, PLOTS)


def tidy_run_folder(
    run_dir: Path, position: Position, metrics: MetricsLog, config: RunConfig
) -> None:
    phase_names = [phase.name for phase in config.phases]
    for folder in FOLDERS:
        remove_stale_temporaries(run_dir / folder)
    metrics.keep_until(position.phase_index, position.step, phase_names)
    if last_checkpoint(run_dir).is_file():
        restore_phase_checkpoint(run_dir / CHECKPOINTS, position, phase_names)


def check_max_steps(max_steps: int | None) -> None:
    if max_steps is not None:
        check_count("max_steps", max_steps)


def check_class_count(num_classes: int, data_classes: int) -> None:
    """The network needs an output for every label of the data."""
    if num_classes < data_classes:
        raise ConfigError(
            f"num_classes={num_classes}, but the data has {data_classes} classes (labels up to "
            f"{data_classes - 1}); leave num_classes unset to use the data's"
        )
