"""Range checks of a run config, run when the config is built (RunConfig.__post_init__).

Every number is finite and in its range, every name that becomes a file name is plain, so a bad
setting stops `ofa train` before the data is loaded, and never after minutes of work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from onceforall.value_checks import (
    MAX_RESOLUTION,
    MAX_THREADS,
    check_count,
    check_fraction,
    check_plain_name,
    check_range,
    check_resolution,
    check_seed,
)

if TYPE_CHECKING:
    from onceforall.run.config import (
        DataConfig,
        EvaluationConfig,
        OptimizerConfig,
        PhaseConfig,
        RunConfig,
        TrainingConfig,
    )

MAX_BATCH = 1 << 20  # images per step; far beyond any memory
MAX_SUBNETS_PER_STEP = 256


def check_phase(phase: PhaseConfig) -> None:
    check_plain_name("phase name", phase.name)
    where = f"phase {phase.name}"
    check_range(f"{where}: epochs", phase.epochs, above=0.0, at_most=1e6)
    check_range(f"{where}: lr", phase.lr, above=0.0, at_most=1e3)
    check_range(f"{where}: warmup_epochs", phase.warmup_epochs, at_least=0.0)
    check_count(
        f"{where}: subnets_per_step",
        phase.subnets_per_step,
        at_least=0,
        at_most=MAX_SUBNETS_PER_STEP,
    )
    for choice, values in phase.restrict.items():
        for value in values:  # 0 is a choice of some (ResNet extra blocks, blocks dropped)
            check_range(f"{where}: restrict.{choice}", value, at_least=0.0)


def check_data(data: DataConfig) -> None:
    check_range("data.holdout", data.holdout, above=0.0)
    if data.train_subset is not None:
        check_count("data.train_subset", data.train_subset)
    check_count("data.num_workers", data.num_workers, at_least=0, at_most=1024)
    check_count("data.calibration_images", data.calibration_images)
    check_count("data.synthetic_classes", data.synthetic_classes, at_most=100_000)
    check_count("data.synthetic_per_class", data.synthetic_per_class, at_most=1_000_000)
    check_count("data.synthetic_size", data.synthetic_size, at_most=MAX_RESOLUTION)
    check_count("data.augment.pad", data.augment.pad, at_least=0, at_most=MAX_RESOLUTION)
    low, high = data.augment.scale
    check_range("data.augment.scale[0]", low, above=0.0, at_most=1.0)
    check_range("data.augment.scale[1]", high, at_least=low, at_most=1.0)


def check_training(training: TrainingConfig) -> None:
    check_count("training.batch_size", training.batch_size, at_most=MAX_BATCH)
    check_count("training.base_batch_size", training.base_batch_size, at_most=MAX_BATCH)
    if training.resolutions is not None:
        if not training.resolutions:
            check_count("training.resolutions: the number of resolutions", 0)
        for resolution in training.resolutions:
            check_resolution("training.resolutions", resolution)
    if training.threads is not None:
        check_count("training.threads", training.threads, at_most=MAX_THREADS)
    check_fraction("training.dropout", training.dropout)
    check_count("training.checkpoint_every", training.checkpoint_every)
    check_count("training.log_every", training.log_every)


def check_optimizer(optimizer: OptimizerConfig) -> None:
    check_fraction("optimizer.momentum", optimizer.momentum)
    check_range("optimizer.weight_decay", optimizer.weight_decay, at_least=0.0, below=1.0)
    check_fraction("optimizer.label_smoothing", optimizer.label_smoothing)
    check_range("optimizer.kd_ratio", optimizer.kd_ratio, at_least=0.0, at_most=1e6)


def check_evaluation(evaluation: EvaluationConfig) -> None:
    check_count("evaluation.batch_size", evaluation.batch_size, at_most=MAX_BATCH)
    if evaluation.panel is not None and not evaluation.panel:
        check_count("evaluation.panel: the number of archs", 0)


def check_run_config(config: RunConfig) -> None:
    """ConfigError naming the first setting out of range."""
    if config.num_classes is not None:
        check_count("num_classes", config.num_classes, at_most=1_000_000)
    check_seed("seed", config.seed)
    check_data(config.data)
    check_training(config.training)
    check_optimizer(config.optimizer)
    check_evaluation(config.evaluation)
