"""BN re-calibration and accuracy of a static sub-network, with a run's data (as the Evaluator).

Export and fine-tuning see a sub-network as one static module (not a supernet arch), so they
re-calibrate a copy of it on the run's calibration images, at its resolution, and measure it on an
evaluation split. The images are the Evaluator's: the same seeded subset as `ofa eval` uses.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TypeVar

from torch import nn

from onceforall.data import ImageSource
from onceforall.nn.bn import recalibrate_bn
from onceforall.nn.memory_format import to_channels_last
from onceforall.run.config import RunConfig
from onceforall.run.datasets import RunData, load_test_source
from onceforall.run.evaluation import Evaluator

ModuleT = TypeVar("ModuleT", bound=nn.Module)


@dataclass(frozen=True)
class EvaluationSplit:
    name: str  # "test" or "holdout"
    source: ImageSource


def final_split(config: RunConfig, data: RunData) -> EvaluationSplit:
    """The test split when the data set has one (Fashion-MNIST), else the held-out split."""
    if config.data.dataset == "fashion_mnist":
        return EvaluationSplit("test", load_test_source(config.data))
    return EvaluationSplit("holdout", data.holdout)


def run_evaluator(
    config: RunConfig, data: RunData, eval_source: ImageSource, *, channels_last: bool
) -> Evaluator:
    """An Evaluator with the run's calibration set, batch size and seed (CPU)."""
    return Evaluator.for_run(config, data, eval_source, channels_last=channels_last)


def calibrated_copy(model: ModuleT, evaluator: Evaluator, resolution: int) -> ModuleT:
    """A deep copy of `model` (eval mode) with BN statistics re-computed at `resolution`.

    Without re-calibration (evaluation.calibrate_bn: false) the copy keeps the statistics.
    """
    result = copy.deepcopy(model)
    if evaluator.channels_last:
        result = to_channels_last(result)
    if evaluator.calibrate:
        recalibrate_bn(result, evaluator.calibration_batches(resolution))
    return result.eval()


def calibration_count(evaluator: Evaluator, resolution: int) -> int:
    """Images BN re-calibration uses at `resolution` (0 when it is switched off)."""
    if not evaluator.calibrate:
        return 0
    return sum(int(batch.shape[0]) for batch in evaluator.calibration_batches(resolution))


def calibrated_accuracy(model: nn.Module, evaluator: Evaluator, resolution: int) -> float:
    """Accuracy of a re-calibrated copy of `model`; `model` itself is not changed."""
    return evaluator.accuracy(calibrated_copy(model, evaluator, resolution), resolution)
