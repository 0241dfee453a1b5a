"""`train(config, run_dir)`: progressive shrinking (or any phase schedule) from start to end.

A run directory holds config.yaml (resolved), checkpoints/ (last.pt + one per finished phase),
metrics.jsonl and plots/panel.png. A run resumes exactly from checkpoints/last.pt; SIGINT/SIGTERM
save a checkpoint at the next step boundary and stop.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import torch
import yaml
from tqdm import tqdm

from onceforall.atomic_files import atomic_write_text
from onceforall.data import LoaderConfig, steps_per_epoch, train_loader
from onceforall.errors import CheckpointError, ConfigError, OnceForAllError
from onceforall.models.registry import create_supernet
from onceforall.models.supernet import Supernet
from onceforall.nn.bn import synchronize_batch_norm
from onceforall.nn.memory_format import to_channels_last
from onceforall.plots import plot_panel
from onceforall.run_lock import run_lock
from onceforall.train.checkpoint import (
    Position,
    load_checkpoint,
    phase_checkpoint_name,
    save_checkpoint,
)
from onceforall.train.config import RunConfig, run_config_from_dict
from onceforall.train.datasets import RunData, build_run_data
from onceforall.train.distributed import (
    barrier,
    init_distributed,
    is_main_process,
    parameter_spread,
    shutdown_distributed,
)
from onceforall.train.evaluation import Evaluator, labelled_panel
from onceforall.train.loop import StepState, build_optimizer, seeded_dropout, train_step
from onceforall.train.metrics import MetricsLog
from onceforall.train.run_folder import check_class_count, check_max_steps, tidy_run_folder
from onceforall.train.schedule import (
    PhasePlan,
    dropout_seed,
    learning_rate,
    plan_phases,
    step_archs,
)
from onceforall.train.teacher import Teacher

# Settings that may change between an interrupted run and its resumption.
RESUMABLE_CHANGES = {
    "training.threads",
    "training.checkpoint_every",
    "training.log_every",
    "data.num_workers",
}


class TrainingInterrupted(OnceForAllError):
    """Stopped by a signal after saving a checkpoint."""

    exit_code = 130


@dataclass(frozen=True)
class TrainSummary:
    run_dir: Path
    position: Position
    seconds: float
    panel: list[dict[str, Any]]


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(data, list) and data and all(isinstance(v, dict) for v in data):
        out = {}
        for index, value in enumerate(data):
            out.update(_flatten(value, f"{prefix}.{index}"))
        return out
    return {prefix: data}


def with_current_defaults(saved: dict[str, Any]) -> dict[str, Any]:
    """A saved run config as this version resolves it: a setting added since the run started
    takes its default, so a long run resumes under newer code unless a setting really differs."""
    try:
        return run_config_from_dict(saved).to_dict()
    except ConfigError as error:
        raise ConfigError(f"the run's saved config no longer loads: {error}") from None


def check_resumable(saved: dict[str, Any], current: dict[str, Any]) -> None:
    old, new = _flatten(saved), _flatten(current)
    changed = sorted(
        k for k in set(old) | set(new) if old.get(k) != new.get(k) and k not in RESUMABLE_CHANGES
    )
    if changed:
        raise ConfigError(
            "the config differs from the one of the run being resumed in: " + ", ".join(changed)
        )


@contextlib.contextmanager
def stop_requests() -> Iterator[list[int]]:
    """Collects SIGINT/SIGTERM (in the main thread) instead of dying mid-step."""
    received: list[int] = []
    try:
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: leave signals alone
        yield received
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    try:
        for s in previous:
            signal.signal(s, handler)
        yield received
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


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
        self.net: Supernet[Any] = create_supernet(
            config.supernet,
            self.num_classes,
            dropout=config.training.dropout,
            init_seed=config.seed,
        )
        if config.training.resolutions is not None:
            self.net.space = self.net.space.with_resolutions(config.training.resolutions)
        self.metrics = MetricsLog(run_dir / "metrics.jsonl", enabled=self.context.is_main)
        self.position = Position(0, 0)
        self.teacher: Teacher | None = None
        self._teacher_state: dict[str, torch.Tensor] | None = None
        self.optimizer_state: dict[str, Any] | None = None
        self._open_run_dir(resume)
        if self.context.is_main:  # temporaries, events past the position, a lost phase file
            tidy_run_folder(self.run_dir, self.position, self.metrics, self.config)
        device = self.context.device
        self.net.to(device)
        if config.training.channels_last:
            to_channels_last(self.net)
        if config.training.sync_batch_norm and self.context.enabled:
            synchronize_batch_norm(self.net, torch.distributed.group.WORLD)
        self.steps_per_epoch = steps_per_epoch(
            len(self.data.train), self.loader_config(self.net.space.resolutions)
        )
        if self.steps_per_epoch < 1:
            raise ConfigError(
                f"the training split ({len(self.data.train)} items) is smaller than one "
                "global batch"
            )
        self.plans = plan_phases(
            config, self.net.space, self.steps_per_epoch, self.context.world_size
        )
        self.evaluator = Evaluator.for_run(config, self.data, device=device)
        if self._teacher_state is not None:
            self.teacher = self._teacher_from_state(self._teacher_state)
            self._teacher_state = None
        # Written only once everything above has been checked: a bad config leaves no run dir.
        if self.context.is_main:
            text = yaml.safe_dump(config.to_dict(), sort_keys=False)
            atomic_write_text(self.run_dir / "config.yaml", text)

    # --- run directory and checkpoints ------------------------------------------------------

    def _open_run_dir(self, resume: bool) -> None:
        last = self.run_dir / "checkpoints" / "last.pt"
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
            self.position = Position(payload["phase_index"], payload["step"], payload["complete"])
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
            self.run_dir / "checkpoints",
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
                finished, steps_left = self._run_phase(plan, first_step, stops, steps_left)
                if not finished:
                    break
        panel = [e for e in self.metrics.read() if e.get("event") == "panel"]
        return TrainSummary(self.run_dir, self.position, time.perf_counter() - start, panel)

    def _run_phase(
        self, plan: PhasePlan, first_step: int, stops: list[int], steps_left: int | None
    ) -> tuple[bool, int | None]:
        config = self.config
        if first_step == 0 and plan.config.reorder_channels:
            self.net.reorder_channels(self._keep_expand_ratios(plan))
        optimizer = build_optimizer(self.net, config.optimizer, plan.lr)
        if first_step > 0 and self.optimizer_state is not None:
            optimizer.load_state_dict(self.optimizer_state)
        self.optimizer_state = None
        use_amp = config.training.amp and self.context.device.type == "cuda"
        state = StepState(
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
        in_place = plan.config.sampler == "sandwich"
        distill = plan.config.distill and self.teacher is not None
        loader_config = self.loader_config(plan.space.resolutions)
        self.net.train()
        bar = tqdm(
            total=plan.steps,
            initial=first_step,
            desc=f"phase {plan.index + 1}/{len(self.plans)} {plan.config.name}",
            disable=not (self.progress and self.context.is_main),
            dynamic_ncols=True,
        )
        step = first_step
        window_images, window_start = 0, time.perf_counter()
        curve_steps = self._curve_steps()
        with bar:
            while step < plan.steps:
                epoch, offset = divmod(step, self.steps_per_epoch)
                loader = train_loader(
                    self.data.train, loader_config, plan.index * 100_000 + epoch, offset
                )
                for batch in loader:
                    if step >= plan.steps:
                        break
                    archs = step_archs(plan, config.seed, step)
                    lr = learning_rate(plan, step)
                    with seeded_dropout(
                        dropout_seed(config.seed, plan.index, step, self.context.rank),
                        self.context.device,
                    ):
                        result = train_step(
                            state,
                            batch.images,
                            batch.labels,
                            archs,
                            lr,
                            distill=distill,
                            in_place_distillation=in_place,
                        )
                    step += 1
                    window_images += result.images * self.context.world_size
                    bar.update(1)
                    if step % config.training.log_every == 0 or step == plan.steps:
                        seconds = time.perf_counter() - window_start
                        rate = window_images / max(seconds, 1e-9)
                        bar.set_postfix(
                            loss=f"{result.loss:.3f}", lr=f"{lr:.2e}", img_s=f"{rate:.0f}"
                        )
                        self.metrics.write(
                            "step",
                            phase=plan.config.name,
                            phase_index=plan.index,
                            step=step,
                            loss=result.loss,
                            lr=lr,
                            images_per_s=rate,
                        )
                        window_images, window_start = 0, time.perf_counter()
                    if curve_steps and (step % curve_steps == 0 or step == plan.steps):
                        self.evaluate_curve(plan, step)
                    if steps_left is not None:
                        steps_left -= 1
                    stop = bool(stops) or steps_left == 0
                    if step < plan.steps and (stop or step % config.training.checkpoint_every == 0):
                        self.position = Position(plan.index, step)
                        self.save(self.position, optimizer)
                    if stop and step < plan.steps:
                        if stops:
                            raise TrainingInterrupted(
                                f"interrupted at phase {plan.config.name} step {step}; checkpoint "
                                f"saved in {self.run_dir / 'checkpoints'}; continue with --resume"
                            )
                        return False, steps_left
        self._finish_phase(plan)
        if stops:
            raise TrainingInterrupted(
                f"interrupted after phase {plan.config.name}; checkpoint saved in "
                f"{self.run_dir / 'checkpoints'}; continue with --resume"
            )
        return not (steps_left == 0 and plan.index + 1 < len(self.plans)), steps_left

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
        plot_panel(self.metrics.read(), self.run_dir / "plots" / "panel.png")


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


def load_run(run_dir: Path) -> tuple[RunConfig, dict[str, Any]]:
    """The config and checkpoint of a run directory."""
    payload = load_checkpoint(run_dir)
    return run_config_from_dict(payload["config"]), payload
