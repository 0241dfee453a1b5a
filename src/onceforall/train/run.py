"""`train(config, run_dir)`: progressive shrinking (or any phase schedule) from start to end.

A run directory holds config.yaml (resolved), checkpoints/ (last.pt + one per finished phase),
metrics.jsonl and plots/panel.png (run/layout.py). A run resumes exactly from
checkpoints/last.pt; SIGINT/SIGTERM save a checkpoint at the next step boundary and stop.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from tqdm import tqdm

from onceforall.atomic_files import atomic_write_text
from onceforall.data import Batch, LoaderConfig, steps_per_epoch, train_loader
from onceforall.errors import CheckpointError, ConfigError
from onceforall.models.registry import create_supernet
from onceforall.models.supernet import Supernet
from onceforall.nn.bn import synchronize_batch_norm
from onceforall.nn.memory_format import to_channels_last
from onceforall.plots import plot_panel
from onceforall.run.checkpoints import (
    Position,
    checkpoint_position,
    last_checkpoint,
    load_checkpoint,
    phase_checkpoint_name,
)
from onceforall.run.config import RunConfig
from onceforall.run.datasets import RunData, build_run_data
from onceforall.run.evaluation import Evaluator, labelled_panel
from onceforall.run.layout import CHECKPOINTS, CONFIG_FILE, METRICS_FILE, PLOTS
from onceforall.run.trained import with_run_resolutions
from onceforall.run_lock import run_lock
from onceforall.train.checkpoint import save_checkpoint
from onceforall.train.distributed import (
    barrier,
    init_distributed,
    is_main_process,
    parameter_spread,
    shutdown_distributed,
)
from onceforall.train.interruption import TrainingInterrupted, interrupted, stop_requests
from onceforall.train.loop import (
    StepResult,
    StepState,
    build_optimizer,
    seeded_dropout,
    train_step,
)
from onceforall.train.metrics import MetricsLog
from onceforall.train.resume import check_resumable, with_current_defaults
from onceforall.train.run_folder import check_class_count, check_max_steps, tidy_run_folder
from onceforall.train.schedule import (
    PhasePlan,
    dropout_seed,
    learning_rate,
    plan_phases,
    step_archs,
)
from onceforall.train.teacher import Teacher


@dataclass(frozen=True)
class TrainSummary:
    run_dir: Path
    position: Position
    seconds: float
    panel: list[dict[str, Any]]


@dataclass(frozen=True)
class PhaseOutcome:
    """Where a call of `Trainer._run_phase` stopped."""

    step: int  # steps done in the phase: `plan.steps` when it ran to its end (and was finished)
    steps_left: int | None  # of `max_steps` (None: no limit)
    interrupted: bool  # a stop request (SIGINT/SIGTERM) came; a checkpoint holds the position


class Trainer:
    """Holds one run's objects; `run()` trains from the saved position to the end."""

    def __init__(self, config: RunConfig, run_dir: Path, *, resume: bool, progress: bool) -> None:
        self.config = config
        self.run_dir = run_dir
        self.progress = progress
        self.context = init_distributed()
        if config.training.threads is not None:
            torch.set_num_threads(config.training.threads)
        self.data: RunData = build_run_data(config.data, config.seed)
        self.num_classes = config.num_classes or self.data.num_classes
        check_class_count(self.num_classes, self.data.num_classes)
        self.net: Supernet[Any] = with_run_resolutions(
            create_supernet(
                config.supernet,
                self.num_classes,
                dropout=config.training.dropout,
                init_seed=config.seed,
            ),
            config,
        )
        self.metrics = MetricsLog(run_dir / METRICS_FILE, enabled=self.context.is_main)
        self.position = Position(0, 0)
        self.teacher: Teacher | None = None
        self._teacher_state: dict[str, torch.Tensor] | None = None
        self.optimizer_state: dict[str, Any] | None = None
        self._open_run_dir(resume)
        if self.context.is_main:  # temporaries, events past the position, a lost phase file
            tidy_run_folder(self.run_dir, self.position, self.metrics, self.config)
        self._place_supernet()
        self.steps_per_epoch = self._steps_per_epoch()
        self.plans = plan_phases(
            config, self.net.space, self.steps_per_epoch, self.context.world_size
        )
        self.evaluator = Evaluator.for_run(config, self.data, device=self.context.device)
        if self._teacher_state is not None:
            self.teacher = self._teacher_from_state(self._teacher_state)
            self._teacher_state = None
        # Written only once everything above has been checked: a bad config leaves no run dir.
        if self.context.is_main:
            text = yaml.safe_dump(config.to_dict(), sort_keys=False)
            atomic_write_text(self.run_dir / CONFIG_FILE, text)

    def _place_supernet(self) -> None:
        """The supernet on the run's device, in its memory format, batch norm synchronized."""
        self.net.to(self.context.device)
        if self.config.training.channels_last:
            to_channels_last(self.net)
        if self.config.training.sync_batch_norm and self.context.enabled:
            synchronize_batch_norm(self.net, torch.distributed.group.WORLD)

    def _steps_per_epoch(self) -> int:
        steps = steps_per_epoch(
            len(self.data.train), self.loader_config(self.net.space.resolutions)
        )
        if steps < 1:
            raise ConfigError(
                f"the training split ({len(self.data.train)} items) is smaller than one "
                "global batch"
            )
        return steps

    # --- run directory and checkpoints ------------------------------------------------------

    def _open_run_dir(self, resume: bool) -> None:
        last = last_checkpoint(self.run_dir)
        config_dict = self.config.to_dict()
        if last.is_file():
            if not resume:
                raise CheckpointError(
                    f"{self.run_dir} already holds a run; pass --resume to continue it or choose "
                    "another --out"
                )
            payload = self._matching_checkpoint(last, f"{last} is a checkpoint of")
            check_resumable(with_current_defaults(payload["config"]), config_dict)
            self.net.load_state_dict(payload["model"])
            self.position = checkpoint_position(payload)
            self.optimizer_state = payload["optimizer"]
            self._teacher_state = payload["teacher"]
        elif self.config.training.init_checkpoint is not None:
            self._start_from(Path(self.config.training.init_checkpoint))

    def _matching_checkpoint(self, path: Path, what: str) -> dict[str, Any]:
        """The checkpoint at `path`, or CheckpointError (`what` begins the message) when it
        holds another supernet or class count than this run's."""
        payload = load_checkpoint(path)
        if (
            payload["supernet"] != self.config.supernet
            or payload["num_classes"] != self.num_classes
        ):
            raise CheckpointError(
                f"{what} {payload['supernet']} with {payload['num_classes']} classes, not "
                f"{self.config.supernet} with {self.num_classes}"
            )
        return payload

    def _start_from(self, path: Path) -> None:
        """Supernet weights and teacher of another run's checkpoint (training.init_checkpoint)."""
        payload = self._matching_checkpoint(path, f"training.init_checkpoint {path} holds")
        self.net.load_state_dict(payload["model"])
        self._teacher_state = payload["teacher"]

    def _teacher_from_state(self, state: dict[str, torch.Tensor]) -> Teacher:
        teacher = self.net.static(self.net.space.max())
        teacher.load_state_dict(state)
        return self._make_teacher(teacher)

    def _make_teacher(self, model: torch.nn.Module) -> Teacher:
        """A frozen teacher on the run's device, batch norm as `training.teacher_bn` says."""
        model = model.to(self.context.device)
        if self.config.training.channels_last:
            model = to_channels_last(model)
        return Teacher(
            model,
            self.config.training.teacher_bn,
            calibration=self.evaluator.stream_calibration_batches,
        )

    def save(
        self, position: Position, optimizer: torch.optim.Optimizer | None, extra: str | None = None
    ) -> None:
        if not self.context.is_main:
            return
        save_checkpoint(
            self.run_dir / CHECKPOINTS,
            supernet=self.config.supernet,
            num_classes=self.num_classes,
            config=self.config.to_dict(),
            position=position,
            model={k: v.detach().cpu() for k, v in self.net.state_dict().items()},
            optimizer=optimizer.state_dict() if optimizer is not None else None,
            teacher=self.teacher.state_dict() if self.teacher is not None else None,
            extra_name=extra,
        )

    # --- training ----------------------------------------------------------------------------

    def loader_config(self, resolutions: tuple[int, ...]) -> LoaderConfig:
        return LoaderConfig(
            batch_size=self.config.training.batch_size,
            resolutions=tuple(resolutions),
            seed=self.config.seed,
            num_workers=self.config.data.num_workers,
            rank=self.context.rank,
            world_size=self.context.world_size,
            pin_memory=self.context.device.type == "cuda",
            augment=self.data.augment,
        )

    def _keep_expand_ratios(self, plan: PhasePlan) -> tuple[int, ...]:
        """Expand ratios trained before `plan` (except the largest): their channels stay put."""
        trained: set[int] = set()
        for earlier in self.plans[: plan.index]:
            trained |= set(getattr(earlier.space, "expand_ratios", ()))
        largest = max(getattr(self.net.space, "expand_ratios", (0,)))
        return tuple(sorted(trained - {largest}))

    def run(self, max_steps: int | None = None) -> TrainSummary:
        start = time.perf_counter()
        steps_left = max_steps
        with stop_requests() as stops:
            for plan in self.plans[self.position.phase_index :]:
                first_step = self.position.step if plan.index == self.position.phase_index else 0
                outcome = self._run_phase(plan, first_step, stops, steps_left)
                if outcome.interrupted:
                    raise self._interruption(plan, outcome)
                steps_left = outcome.steps_left
                if outcome.step < plan.steps or steps_left == 0:
                    break
        panel = [e for e in self.metrics.read() if e.get("event") == "panel"]
        return TrainSummary(self.run_dir, self.position, time.perf_counter() - start, panel)

    def _interruption(self, plan: PhasePlan, outcome: PhaseOutcome) -> TrainingInterrupted:
        name = plan.config.name
        finished = outcome.step == plan.steps
        where = f"after phase {name}" if finished else f"at phase {name} step {outcome.step}"
        return interrupted(where, self.run_dir / CHECKPOINTS)

    def _run_phase(
        self, plan: PhasePlan, first_step: int, stops: list[int], steps_left: int | None
    ) -> PhaseOutcome:
        """Train `plan` from `first_step` to its end, then finish it (teacher, panel, phase
        checkpoint); or to a stop (a request, or `steps_left` run out) inside it."""
        state = self._step_state(plan, first_step)
        step, steps_left = self._train_steps(plan, state, first_step, stops, steps_left)
        if step == plan.steps:
            self._finish_phase(plan)
        return PhaseOutcome(step, steps_left, interrupted=bool(stops))

    def _step_state(self, plan: PhasePlan, first_step: int) -> StepState:
        """The optimizer (its saved state when the phase resumes) and the step's settings; at the
        start of a `reorder_channels` phase the channels are sorted first."""
        config = self.config
        if first_step == 0 and plan.config.reorder_channels:
            self.net.reorder_channels(self._keep_expand_ratios(plan))
        optimizer = build_optimizer(self.net, config.optimizer, plan.lr)
        if first_step > 0 and self.optimizer_state is not None:
            optimizer.load_state_dict(self.optimizer_state)
        self.optimizer_state = None
        use_amp = config.training.amp and self.context.device.type == "cuda"
        return StepState(
            net=self.net,
            optimizer=optimizer,
            config=config.optimizer,
            context=self.context,
            teacher=self.teacher,
            channels_last=config.training.channels_last,
            amp=use_amp,
            sync_batch_norm=config.training.sync_batch_norm,
            scaler=torch.amp.GradScaler("cuda") if use_amp else None,
        )

    def _train_steps(
        self,
        plan: PhasePlan,
        state: StepState,
        first_step: int,
        stops: list[int],
        steps_left: int | None,
    ) -> tuple[int, int | None]:
        """The steps of `plan` from `first_step` to its end or a stop: the step reached and the
        steps left. A checkpoint is saved every `checkpoint_every` steps and at a stop."""
        training = self.config.training
        curve_steps = self._curve_steps()
        step = first_step
        window_images, window_start = 0, time.perf_counter()
        self.net.train()
        with self._progress_bar(plan, first_step) as bar:
            for batch in self._batches(plan, first_step):
                result, lr = self._train_step(plan, state, batch, step)
                step += 1
                window_images += result.images * self.context.world_size
                bar.update(1)
                if step % training.log_every == 0 or step == plan.steps:
                    rate = window_images / max(time.perf_counter() - window_start, 1e-9)
                    self._log_step(plan, step, result, lr, rate, bar)
                    window_images, window_start = 0, time.perf_counter()
                if curve_steps and (step % curve_steps == 0 or step == plan.steps):
                    self.evaluate_curve(plan, step)
                steps_left = None if steps_left is None else steps_left - 1
                stop = bool(stops) or steps_left == 0
                if step < plan.steps and (stop or step % training.checkpoint_every == 0):
                    self.position = Position(plan.index, step)
                    self.save(self.position, state.optimizer)
                if stop or step == plan.steps:
                    break
        return step, steps_left

    def _progress_bar(self, plan: PhasePlan, first_step: int) -> tqdm[Any]:
        return tqdm(
            total=plan.steps,
            initial=first_step,
            desc=f"phase {plan.index + 1}/{len(self.plans)} {plan.config.name}",
            disable=not (self.progress and self.context.is_main),
            dynamic_ncols=True,
        )

    def _batches(self, plan: PhasePlan, first_step: int) -> Iterator[Batch]:
        """The batches of `plan` from `first_step` to its end, one epoch's loader after another
        (seeded by phase and epoch: a resumed phase continues with the batches it would have)."""
        loader_config = self.loader_config(plan.space.resolutions)
        step = first_step
        while step < plan.steps:
            epoch, offset = divmod(step, self.steps_per_epoch)
            loader = train_loader(
                self.data.train, loader_config, plan.index * 100_000 + epoch, offset
            )
            for batch in loader:
                if step >= plan.steps:
                    return
                yield batch
                step += 1

    def _train_step(
        self, plan: PhasePlan, state: StepState, batch: Batch, step: int
    ) -> tuple[StepResult, float]:
        """Step `step` of `plan` (counted from 0): its result and its learning rate."""
        archs = step_archs(plan, self.config.seed, step)
        lr = learning_rate(plan, step)
        with seeded_dropout(
            dropout_seed(self.config.seed, plan.index, step, self.context.rank),
            self.context.device,
        ):
            result = train_step(
                state,
                batch.images,
                batch.labels,
                archs,
                lr,
                distill=plan.config.distill and self.teacher is not None,
                in_place_distillation=plan.config.sampler == "sandwich",
            )
        return result, lr

    def _log_step(
        self, plan: PhasePlan, step: int, result: StepResult, lr: float, rate: float, bar: tqdm[Any]
    ) -> None:
        bar.set_postfix(loss=f"{result.loss:.3f}", lr=f"{lr:.2e}", img_s=f"{rate:.0f}")
        self.metrics.write(
            "step",
            phase=plan.config.name,
            phase_index=plan.index,
            step=step,
            loss=result.loss,
            lr=lr,
            images_per_s=rate,
        )

    def _finish_phase(self, plan: PhasePlan) -> None:
        if plan.index == self.config.teacher_phase_index:
            self.teacher = self._make_teacher(self.net.static(self.net.space.max()))
        if self.context.enabled:
            spread = parameter_spread(self.net)
            self.metrics.write("rank_sync", phase=plan.config.name, parameter_spread=spread)
        if self.context.is_main:
            self.evaluate_panel(plan.config.name)
        barrier(self.context)
        last = plan.index + 1 == len(self.plans)
        self.position = Position(plan.index + 1, 0, complete=last)
        self.save(self.position, None, extra=phase_checkpoint_name(plan.index, plan.config.name))
        self.net.train()

    def _curve_steps(self) -> int | None:
        every = self.config.evaluation.curve_every_epochs
        return None if every is None else max(1, round(every * self.steps_per_epoch))

    def evaluate_curve(self, plan: PhasePlan, step: int) -> None:
        """Held-out accuracy of the phase's largest (or pinned) sub-network now (a `curve`
        event)."""
        if not self.context.is_main:
            return
        arch = plan.fixed_arch if plan.fixed_arch is not None else plan.space.max()
        result = self.evaluator.evaluate(self.net, arch)
        self.metrics.write(
            "curve",
            phase=plan.config.name,
            phase_index=plan.index,
            step=step,
            epoch=round(step / self.steps_per_epoch, 4),
            arch=result.arch,
            accuracy=result.accuracy,
        )
        self.net.train()

    def evaluate_panel(self, phase: str) -> None:
        rows = []
        for label, arch in tqdm(
            labelled_panel(self.net.space, self.config.evaluation.panel),
            desc=f"evaluate panel ({phase})",
            disable=not self.progress,
            leave=False,
        ):
            result = self.evaluator.evaluate(self.net, arch)
            rows.append(result)
            self.metrics.write(
                "panel",
                phase=phase,
                label=label,
                arch=result.arch,
                accuracy=result.accuracy,
                macs=result.macs,
                params=result.params,
            )
        plot_panel(self.metrics.read(), self.run_dir / PLOTS / "panel.png")


def train(
    config: RunConfig,
    run_dir: Path,
    *,
    resume: bool = False,
    progress: bool = True,
    max_steps: int | None = None,
) -> TrainSummary:
    """Train `config` into `run_dir` (see the module docstring). `max_steps`: stop early (tests).

    The run folder is locked for the whole call (run_lock.py): a second process stops at once.
    """
    check_max_steps(max_steps)
    with run_lock(run_dir) if is_main_process() else contextlib.nullcontext():
        trainer = Trainer(config, run_dir, resume=resume, progress=progress)
        try:
            if trainer.position.complete:
                return TrainSummary(run_dir, trainer.position, 0.0, [])
            return trainer.run(max_steps)
        finally:
            shutdown_distributed(trainer.context)
