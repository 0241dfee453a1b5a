"""A run's configuration (RunConfig, written to RUN/config.yaml): frozen values, read strictly from
YAML (see config_parsing.py); what `ofa train` runs and what every reader of the run reads back.

Learning rates are per `training.base_batch_size` images and scale linearly with the global batch
(batch_size x world size), as the reference scales its per-GPU rate by the number of GPUs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from onceforall.errors import ConfigError
from onceforall.run.config_checks import check_phase, check_run_config
from onceforall.run.config_parsing import apply_override, from_dict, load_yaml, to_dict

# How the distillation teacher normalizes (train/teacher.py).
TeacherBatchNorm = Literal["batch", "recalibrated", "eval"]


@dataclass(frozen=True)
class AugmentSettings:
    flip: bool = True
    pad: int = 4
    scale: tuple[float, float] = (0.08, 1.0)


@dataclass(frozen=True)
class DataConfig:
    dataset: Literal["fashion_mnist", "folder", "synthetic"] = "fashion_mnist"
    path: str | None = None  # fashion_mnist: IDX folder (default: Debian's); folder: image root
    holdout: float = 5000  # images (>= 1) or fraction (< 1) of the training split for evaluation
    train_subset: int | None = None  # train on the first N items of a seeded permutation
    num_workers: int = 0
    calibration_images: int = 2000  # BN re-calibration set, taken from the training split
    synthetic_classes: int = 4  # synthetic data only
    synthetic_per_class: int = 64
    synthetic_size: int = 16
    augment: AugmentSettings = field(default_factory=AugmentSettings)


@dataclass(frozen=True)
class PhaseConfig:
    """One phase of a schedule: which sub-networks are trained, for how long, at what rate.

    `restrict` narrows the space's choices by name (for OFA-MobileNetV3/ProxylessNAS:
    kernel_sizes, expand_ratios, depths; for OFA-ResNet: extra_blocks, expand_ratios,
    width_multipliers, stem_depths); a choice not named keeps the full list.

    `sampler`: ``random`` trains
    `subnets_per_step` random sub-networks per step (gradients summed, as the reference);
    ``sandwich`` trains the largest, the smallest and `subnets_per_step` random ones, the
    others distilled in place from the largest's output.

    `arch` (a sub-network string) trains that one sub-network alone, every step: the baseline
    of training a sub-network from scratch with the same recipe. Batches still use the run's
    resolutions; the arch's own resolution is the one it is evaluated at.
    """

    name: str
    epochs: float
    lr: float
    warmup_epochs: float = 0.0
    subnets_per_step: int = 1
    sampler: Literal["random", "sandwich"] = "random"
    restrict: dict[str, tuple[float, ...]] = field(default_factory=dict)
    distill: bool = True  # distill from the teacher (if the run has one by then)
    reorder_channels: bool = False  # sort expanded channels by importance before the phase
    arch: str | None = None  # train only this sub-network (see above)

    def __post_init__(self) -> None:
        check_phase(self)
        if self.epochs <= 0 or self.lr <= 0 or self.warmup_epochs < 0:
            raise ConfigError(f"phase {self.name}: epochs and lr must be > 0, warmup_epochs >= 0")
        if self.warmup_epochs > self.epochs:
            raise ConfigError(f"phase {self.name}: warmup_epochs exceeds epochs")
        if self.subnets_per_step < (0 if self.sampler == "sandwich" else 1):
            raise ConfigError(f"phase {self.name}: subnets_per_step is too small")
        if self.arch is not None and (self.sampler != "random" or self.subnets_per_step != 1):
            raise ConfigError(
                f"phase {self.name}: a fixed arch trains alone (sampler random, subnets_per_step 1)"
            )


@dataclass(frozen=True)
class OptimizerConfig:
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 3e-5
    no_decay_on_bn_and_bias: bool = True
    label_smoothing: float = 0.1
    kd_ratio: float = 1.0  # weight of the distillation loss (soft-target cross entropy)


@dataclass(frozen=True)
class TrainingConfig:
    batch_size: int = 64  # per rank
    base_batch_size: int = 64  # learning rates are given for this many images per step
    resolutions: tuple[int, ...] | None = None  # None: the space's resolutions
    channels_last: bool = True
    amp: bool = False  # mixed precision (CUDA only)
    threads: int | None = None  # torch intra-op threads (None: torch's default)
    dropout: float = 0.1
    sync_batch_norm: bool = False  # batch statistics over all ranks (exact DDP = big batch)
    checkpoint_every: int = 200  # steps
    log_every: int = 20  # steps
    teacher_phase: str | None = (
        None  # the phase whose final net becomes the teacher (default: first)
    )
    # Batch norm of the distillation teacher (train/teacher.py): "recalibrated" (statistics
    # re-estimated per resolution on the calibration images), "batch" (the batch's statistics,
    # as the reference) or "eval" (its running statistics, averaged over all resolutions).
    # Measured (benchmarks/results/teacher_bn.json, one seed): students' panel mean 73.07 %
    # recalibrated, 73.81 % batch, 72.70 % eval: batch ahead by about one standard error.
    # Default "recalibrated": the most accurate teacher, and one that does not depend on how a
    # global batch is split over DDP ranks (a DDP run stays equal to one big-batch process).
    teacher_bn: TeacherBatchNorm = "recalibrated"
    # Start from the supernet weights (and teacher, if any) of another run's checkpoint, e.g.
    # RUN/checkpoints/phase1-full.pt, instead of fresh weights; its teacher is then kept.
    init_checkpoint: str | None = None


@dataclass(frozen=True)
class EvaluationConfig:
    batch_size: int = 500
    panel: tuple[str, ...] | None = None  # arch strings; None: min, max and 3 fixed middle archs
    calibrate_bn: bool = True
    # Held-out accuracy of each phase's largest (or pinned) sub-network every this many epochs
    # (events "curve" in metrics.jsonl): is the full network near its plateau? None: never.
    curve_every_epochs: float | None = None

    def __post_init__(self) -> None:
        if self.curve_every_epochs is not None and not self.curve_every_epochs > 0:
            raise ConfigError("evaluation.curve_every_epochs must be > 0")


@dataclass(frozen=True)
class RunConfig:
    supernet: str
    phases: tuple[PhaseConfig, ...]
    num_classes: int | None = None  # None: the data set's
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)

    def __post_init__(self) -> None:
        if not self.phases:
            raise ConfigError("phases: at least one phase is needed")
        check_run_config(self)
        names = [p.name for p in self.phases]
        if len(set(names)) != len(names):
            raise ConfigError(f"phases: names must be unique, got {names}")
        teacher = self.training.teacher_phase
        if teacher is not None and teacher not in names:
            raise ConfigError(
                f"training.teacher_phase: no phase named {teacher!r}; phases: {names}"
            )
        if teacher is not None and self.training.init_checkpoint is not None:
            raise ConfigError(
                "training.teacher_phase and training.init_checkpoint exclude each other: a run "
                "started from a checkpoint keeps that checkpoint's teacher"
            )

    @property
    def teacher_phase_index(self) -> int | None:
        """The phase whose final network becomes the teacher (None: it comes from
        `training.init_checkpoint`)."""
        if self.training.init_checkpoint is not None:
            return None
        names = [p.name for p in self.phases]
        return names.index(self.training.teacher_phase) if self.training.teacher_phase else 0

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = to_dict(self)
        return result


def load_run_config(path: Path | None, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Defaults < YAML file < overrides (``key.path=value``)."""
    data: dict[str, Any] = load_yaml(path) if path is not None else {}
    for assignment in overrides:
        apply_override(data, assignment)
    return from_dict(RunConfig, data)


def run_config_from_dict(data: dict[str, Any]) -> RunConfig:
    return from_dict(RunConfig, data)
