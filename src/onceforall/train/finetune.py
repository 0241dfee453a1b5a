"""`finetune`: train one sub-network of a trained supernet further, alone (the paper's "#25"/"#75").

The student is a static copy of the arch (BN re-calibrated first), trained with the run's data
pipeline at the arch's resolution only, SGD with Nesterov momentum and a cosine rate as the
trainer, label smoothing, and distillation from the supernet's largest sub-network (a static
copy, BN re-calibrated at the same resolution, frozen, eval mode) with the run's kd_ratio.
Held-out accuracy (BN re-calibrated) is measured before, after every epoch and at the end.

Resumable exactly: batches, dropout masks and rates are functions of (seed, step), and
checkpoints (every `training.checkpoint_every` steps, at the end of every epoch, on SIGINT/
SIGTERM) hold the student, the optimizer and the teacher. Output files: run/finetuned.py.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import yaml
from torch import Tensor, nn
from tqdm import tqdm

from onceforall.atomic_files import atomic_write_json, atomic_write_text
from onceforall.data import LoaderConfig, steps_per_epoch, train_loader
from onceforall.errors import CheckpointError, ConfigError
from onceforall.nn.memory_format import to_channels_last
from onceforall.run.calibration import calibrated_accuracy, calibrated_copy, run_evaluator
from onceforall.run.checkpoints import Position, last_checkpoint, load_checkpoint
from onceforall.run.config import (
    OptimizerConfig,
    PhaseConfig,
)
from onceforall.run.datasets import build_run_data
from onceforall.run.finetuned import ACCURACY_FILE, SETTINGS_FILE, FinetunedModel
from onceforall.run.layout import CHECKPOINTS, METRICS_FILE
from onceforall.run.trained import load_trained_supernet
from onceforall.run_lock import LOCK_FILE, run_lock
from onceforall.train.checkpoint import save_checkpoint
from onceforall.train.finetune_config import (
    FINETUNE_EPOCH_OFFSET,
    FINETUNE_PHASE_INDEX,
    FinetuneConfig,
)
from onceforall.train.finetune_output import save_finetuned
from onceforall.train.interruption import interrupted, stop_requests
from onceforall.train.loop import build_optimizer, seeded_dropout, soft_cross_entropy
from onceforall.train.metrics import MetricsLog
from onceforall.train.resume import check_resumable
from onceforall.train.schedule import PhasePlan, dropout_seed, learning_rate

CPU = torch.device("cpu")


@dataclass(frozen=True)
class FinetuneSummary:
    out: Path
    arch: str
    step: int
    steps: int
    complete: bool
    accuracy_before: float
    accuracy_after: float | None  # None until complete
    seconds: float


def finetune_step(
    student: nn.Module,
    teacher: nn.Module | None,
    optimizer: torch.optim.Optimizer,
    batch: tuple[Tensor, Tensor],
    lr: float,
    config: OptimizerConfig,
) -> float:
    """One SGD step: label-smoothed cross entropy + kd_ratio x soft-target cross entropy."""
    images, labels = batch
    for group in optimizer.param_groups:
        group["lr"] = lr
    optimizer.zero_grad(set_to_none=True)
    logits = student(images)
    loss = F.cross_entropy(logits, labels, label_smoothing=config.label_smoothing)
    if teacher is not None:
        with torch.no_grad():
            soft_targets = F.softmax(teacher(images), dim=1)
        loss = loss + config.kd_ratio * soft_cross_entropy(logits, soft_targets)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def check_output(out: Path, resume: bool) -> Path:
    """CheckpointError unless `out` is new, empty or (with `resume`) a fine-tuning; its last.pt."""
    occupied = out.exists() and (
        not out.is_dir() or any(entry.name != LOCK_FILE for entry in out.iterdir())
    )
    if occupied and not (out / SETTINGS_FILE).is_file():
        raise CheckpointError(f"{out} exists and holds no fine-tuning; choose another --out")
    last = last_checkpoint(out)
    if last.is_file() and not resume:
        raise CheckpointError(f"{out} already holds a fine-tuning; pass --resume to continue")
    return last


class Finetuner:
    """One fine-tuning's objects; `run()` continues from the saved step to the end."""

    def __init__(self, config: FinetuneConfig, out: Path, *, resume: bool, progress: bool) -> None:
        self.out, self.progress = out, progress
        config = dataclasses.replace(config, run=str(Path(config.run).resolve()))
        last = check_output(out, resume)
        net, run_config, _ = load_trained_supernet(Path(config.run))
        self.run_config = run_config
        if run_config.training.threads is not None:
            torch.set_num_threads(run_config.training.threads)
        self.arch = net.space.parse(config.arch)
        net.space.validate(self.arch)
        self.supernet = net.name
        self.num_classes = int(net.space.describe()["num_classes"])
        self.data = build_run_data(run_config.data, run_config.seed)
        self.evaluator = run_evaluator(
            run_config,
            self.data,
            self.data.holdout,
            channels_last=run_config.training.channels_last,
        )
        self.resolution = int(self.arch.resolution)
        self.loader_config = LoaderConfig(
            batch_size=run_config.training.batch_size,
            resolutions=(self.resolution,),
            seed=run_config.seed,
            num_workers=run_config.data.num_workers,
            augment=self.data.augment,
        )
        self.steps_per_epoch = steps_per_epoch(len(self.data.train), self.loader_config)
        if self.steps_per_epoch < 1:
            raise ConfigError(f"the training split ({len(self.data.train)} items) < one batch")
        batch_scale = run_config.training.batch_size / run_config.training.base_batch_size
        self.plan = PhasePlan(
            index=FINETUNE_PHASE_INDEX,
            config=PhaseConfig("finetune", config.epochs, config.peak_lr(run_config)),
            space=net.space,
            steps=config.epochs * self.steps_per_epoch,
            warmup_steps=round(config.warmup_epochs * self.steps_per_epoch),
            lr=config.peak_lr(run_config) * batch_scale,
        )
        self.settings = config.resolved(run_config, self.supernet, self.num_classes)
        self.metrics = MetricsLog(out / METRICS_FILE)
        self.student = self._prepare(net.static(self.arch))
        distill = config.distill and run_config.optimizer.kd_ratio > 0
        self.teacher = self._prepare(net.static(net.space.max())) if distill else None
        self.step = 0
        self.optimizer_state: dict[str, Any] | None = None
        if last.is_file():
            self._restore(load_checkpoint(last))
        else:
            self.student = calibrated_copy(self.student, self.evaluator, self.resolution)
            if self.teacher is not None:
                self.teacher = calibrated_copy(self.teacher, self.evaluator, self.resolution)
            before = self.evaluator.accuracy(self.student, self.resolution)
            # Written only once everything above has been checked: bad input leaves no files.
            atomic_write_text(out / SETTINGS_FILE, yaml.safe_dump(self.settings, sort_keys=False))
            self._write_accuracy(before, None)
            self.metrics.write("evaluate", stage="before", step=0, accuracy=before)
        if self.teacher is not None:
            for parameter in self.teacher.parameters():
                parameter.requires_grad_(False)
            self.teacher.eval()

    def _prepare(self, module: nn.Module) -> nn.Module:
        if self.run_config.training.channels_last:
            module = to_channels_last(module)
        return module

    def _restore(self, payload: dict[str, Any]) -> None:
        check_resumable(payload["config"], self.settings)
        self.student.load_state_dict(payload["model"])
        if self.teacher is not None:
            self.teacher.load_state_dict(payload["teacher"])
        self.step = int(payload["step"])
        self.optimizer_state = payload["optimizer"]

    def _write_accuracy(self, before: float, after: float | None) -> None:
        atomic_write_json(
            self.out / ACCURACY_FILE,
            {"arch": str(self.arch), "split": "holdout", "before": before, "after": after},
        )

    def accuracy(self) -> dict[str, Any]:
        """accuracy.json: {"arch", "split", "before", "after"} (after: None until complete)."""
        result: dict[str, Any] = json.loads((self.out / ACCURACY_FILE).read_text())
        return result

    def save(self, complete: bool, optimizer: torch.optim.Optimizer | None) -> None:
        save_checkpoint(
            self.out / CHECKPOINTS,
            supernet=self.supernet,
            num_classes=self.num_classes,
            config=self.settings,
            position=Position(0, self.step, complete),
            model={k: v.detach().clone() for k, v in self.student.state_dict().items()},
            optimizer=None if optimizer is None else optimizer.state_dict(),
            teacher=None if self.teacher is None else self.teacher.state_dict(),
        )

    def run(self, max_steps: int | None = None) -> FinetuneSummary:
        start, plan = time.perf_counter(), self.plan
        optimizer = build_optimizer(self.student, self.run_config.optimizer, plan.lr)
        if self.optimizer_state is not None:
            optimizer.load_state_dict(self.optimizer_state)
        stop_at = plan.steps if max_steps is None else min(plan.steps, self.step + max_steps)
        every = self.run_config.training.checkpoint_every
        self.student.train()
        with (
            stop_requests() as stops,
            tqdm(
                total=plan.steps, initial=self.step, desc="finetune", disable=not self.progress
            ) as bar,
        ):
            while self.step < stop_at and not stops:
                epoch, offset = divmod(self.step, self.steps_per_epoch)
                loader = train_loader(
                    self.data.train, self.loader_config, FINETUNE_EPOCH_OFFSET + epoch, offset
                )
                for batch in loader:
                    loss = self._train_step(optimizer, batch.images, batch.labels)
                    bar.update(1)
                    if self.step % self.run_config.training.log_every == 0:
                        bar.set_postfix(loss=f"{loss:.3f}")
                        lr = learning_rate(plan, self.step - 1)
                        self.metrics.write("step", step=self.step, loss=loss, lr=lr)
                    if self.step % self.steps_per_epoch == 0 and self.step < plan.steps:
                        self._evaluate_epoch()  # the last epoch's is the final evaluation
                    stopping = bool(stops) or self.step >= stop_at
                    epoch_end = self.step % self.steps_per_epoch == 0
                    if self.step < plan.steps and (stopping or epoch_end or self.step % every == 0):
                        self.save(False, optimizer)
                    if stopping:
                        break
        if self.step < plan.steps:
            if stops:
                raise interrupted(f"at step {self.step}", self.out / CHECKPOINTS)
            return self._summary(start, None)
        return self._finish(start)

    def _train_step(
        self, optimizer: torch.optim.Optimizer, images: Tensor, labels: Tensor
    ) -> float:
        if self.run_config.training.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        lr = learning_rate(self.plan, self.step)
        seed = dropout_seed(self.run_config.seed, FINETUNE_PHASE_INDEX, self.step, 0)
        with seeded_dropout(seed, CPU):
            loss = finetune_step(
                self.student,
                self.teacher,
                optimizer,
                (images, labels),
                lr,
                self.run_config.optimizer,
            )
        self.step += 1
        return loss

    def _evaluate_epoch(self) -> None:
        accuracy = calibrated_accuracy(self.student, self.evaluator, self.resolution)
        epoch = self.step // self.steps_per_epoch
        self.metrics.write("evaluate", stage=f"epoch {epoch}", step=self.step, accuracy=accuracy)

    def _finish(self, start: float) -> FinetuneSummary:
        final = calibrated_copy(self.student, self.evaluator, self.resolution)
        after = self.evaluator.accuracy(final, self.resolution)
        state = {k: v.detach().contiguous().clone() for k, v in final.state_dict().items()}
        run_config = self.settings["run"]
        model = FinetunedModel(self.supernet, self.num_classes, str(self.arch), run_config, state)
        save_finetuned(self.out, model)
        self._write_accuracy(self.accuracy()["before"], after)
        self.metrics.write("evaluate", stage="after", step=self.step, accuracy=after)
        self.save(True, None)
        return self._summary(start, after)

    def _summary(self, start: float, after: float | None) -> FinetuneSummary:
        return FinetuneSummary(
            out=self.out,
            arch=str(self.arch),
            step=self.step,
            steps=self.plan.steps,
            complete=self.step >= self.plan.steps,
            accuracy_before=self.accuracy()["before"],
            accuracy_after=after,
            seconds=time.perf_counter() - start,
        )


def finetune(
    config: FinetuneConfig,
    out: Path,
    *,
    resume: bool = False,
    progress: bool = True,
    max_steps: int | None = None,
) -> FinetuneSummary:
    """Fine-tune `config.arch` into `out` (see the module docstring); `max_steps`: stop early.

    `out` is locked for the whole call (run_lock.py): a second process stops at once.
    """
    check_output(out, resume)  # before the lock file appears in `out`
    with run_lock(out):
        finetuner = Finetuner(config, out, resume=resume, progress=progress)
        if finetuner.step >= finetuner.plan.steps:  # already complete
            return finetuner._summary(time.perf_counter(), finetuner.accuracy()["after"])
        return finetuner.run(max_steps)
