"""The distillation teacher: a frozen copy of the largest sub-network and its batch-norm mode.

Training batches come at several resolutions, so the teacher's running BN statistics (gathered
while it trained on the mix) fit none of them well: on the small-input supernet after its full
phase, held-out top-1 at 24 px was 61.6 % with running statistics, 71.4 % with batch statistics
and 73.6 % with statistics re-estimated at 24 px (issue 12). `teacher_bn` chooses:

- ``batch``: batch norm normalizes with the statistics of the batch being distilled, as the
  reference implementation does (it calls ``teacher.train()`` every step); dropout stays off and
  the running statistics are never updated;
- ``recalibrated``: per input resolution, statistics re-estimated once on the run's calibration
  images (BN re-calibration, as for evaluating any sub-network), swapped in by resolution;
- ``eval``: the running statistics as they are (the behaviour before issue 12).

benchmarks/bench_teacher_bn.py measured the students (mean panel top-1, one seed): 73.81 % batch,
73.07 % recalibrated, 72.70 % eval; batch leads by about one standard error while the
recalibrated teacher is the most accurate one. The default stays ``recalibrated``: within the
noise, and independent of how DDP splits a global batch over ranks.

The teacher's saved state is always the network as it left its phase (original statistics), so a
resumed run rebuilds exactly the same teacher.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import get_args

import torch
from torch import Tensor, nn

from onceforall.nn.bn import batch_norms, recalibrate_bn
from onceforall.run.config import TeacherBatchNorm

TEACHER_BATCH_NORM_MODES: tuple[str, ...] = get_args(TeacherBatchNorm)

CalibrationBatches = Callable[[int], Iterable[Tensor]]


class Teacher:
    """Soft targets from a frozen model, with batch norm as `mode` says (module docstring).

    `calibration(resolution)` yields calibration image batches at that resolution; it is needed
    (and called once per resolution, when that resolution is first seen) in ``recalibrated`` mode.
    """

    def __init__(
        self,
        model: nn.Module,
        mode: TeacherBatchNorm,
        calibration: CalibrationBatches | None = None,
    ) -> None:
        if mode not in TEACHER_BATCH_NORM_MODES:
            raise ValueError(f"teacher batch-norm mode {mode!r} not in {TEACHER_BATCH_NORM_MODES}")
        if mode == "recalibrated" and calibration is None:
            raise ValueError("a re-calibrated teacher needs calibration images")
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        self.model = model
        self.mode = mode
        self._calibration = calibration
        self._norms = batch_norms(model)
        self._original = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self._statistics: dict[int, list[tuple[Tensor, Tensor]]] = {}
        self._active_resolution: int | None = None
        model.eval()
        if mode == "batch":
            for bn in self._norms:
                # Train-mode BN without running statistics: batch statistics, buffers untouched.
                bn.train()
                bn.track_running_stats = False

    def state_dict(self) -> dict[str, Tensor]:
        """The model as it was given (its original running statistics)."""
        return dict(self._original)

    @torch.no_grad()
    def __call__(self, images: Tensor) -> Tensor:
        if self.mode == "recalibrated":
            self._use_statistics(int(images.shape[-1]))
        return self.model(images)

    def _use_statistics(self, resolution: int) -> None:
        if resolution == self._active_resolution:
            return
        if resolution not in self._statistics:
            self._statistics[resolution] = self._recalibrated_statistics(resolution)
        for bn, (mean, var) in zip(self._norms, self._statistics[resolution], strict=True):
            assert bn.running_mean is not None and bn.running_var is not None
            bn.running_mean.copy_(mean)
            bn.running_var.copy_(var)
        self._active_resolution = resolution

    def _recalibrated_statistics(self, resolution: int) -> list[tuple[Tensor, Tensor]]:
        assert self._calibration is not None
        with torch.random.fork_rng(devices=[]):  # dropout during calibration: no global draws
            seen = recalibrate_bn(self.model, self._calibration(resolution))
        if seen == 0:
            raise ValueError("no calibration images to re-calibrate the teacher with")
        self.model.eval()
        statistics = []
        for bn in self._norms:
            assert bn.running_mean is not None and bn.running_var is not None
            statistics.append((bn.running_mean.clone(), bn.running_var.clone()))
        return statistics
