"""Progressive shrinking as data: phases -> restricted spaces, step counts, rates, sampled archs.

Everything here is a pure function of the config, the space, the seed and the step, so a resumed
run (or every DDP rank) computes the same schedule and samples the same sub-networks.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from onceforall.arch.space import Space
from onceforall.errors import ArchError, ConfigError
from onceforall.run.config import PhaseConfig, RunConfig

# Last entry of every seed key: numpy's SeedSequence ignores trailing zeros, so a fixed non-zero
# tag keeps [seed, phase, step] streams apart from each other and from the data streams.
ARCH_STREAM = 101
DROPOUT_STREAM = 102


@dataclass(frozen=True)
class PhasePlan:
    index: int
    config: PhaseConfig
    space: Space[Any]  # the phase's restricted space
    steps: int
    warmup_steps: int
    lr: float  # peak rate, scaled to the global batch
    fixed_arch: Any = None  # the phase's `arch`, parsed (None: sample from `space`)


def restrict_space(space: Space[Any], phase: PhaseConfig) -> Space[Any]:
    """The phase's sub-space: `space.restrict(**phase.restrict)`, names checked first."""
    if not phase.restrict:
        return space
    restrict = space.restrict  # type: ignore[attr-defined]
    known = set(inspect.signature(restrict).parameters) - {"resolutions"}
    unknown = sorted(set(phase.restrict) - known)
    if unknown:
        raise ConfigError(
            f"phases.{phase.name}.restrict: {', '.join(unknown)} is not a choice of this space; "
            f"choices: {', '.join(sorted(known))}"
        )
    result: Space[Any] = restrict(**phase.restrict)
    return result


def fixed_arch(space: Space[Any], phase: PhaseConfig) -> Any:
    """The phase's `arch` as a value of `space` (None when the phase samples)."""
    if phase.arch is None:
        return None
    try:
        arch = space.parse(phase.arch)
        space.validate(arch)
    except ArchError as error:
        raise ConfigError(f"phases.{phase.name}.arch: {error}") from error
    return arch


def plan_phases(
    config: RunConfig, space: Space[Any], steps_per_epoch: int, world_size: int
) -> tuple[PhasePlan, ...]:
    scale = config.training.batch_size * world_size / config.training.base_batch_size
    plans = []
    for index, phase in enumerate(config.phases):
        steps = max(1, round(phase.epochs * steps_per_epoch))
        plans.append(
            PhasePlan(
                index=index,
                config=phase,
                space=restrict_space(space, phase),
                steps=steps,
                warmup_steps=min(steps, round(phase.warmup_epochs * steps_per_epoch)),
                lr=phase.lr * scale,
                fixed_arch=fixed_arch(space, phase),
            )
        )
    return tuple(plans)


def learning_rate(plan: PhasePlan, step: int) -> float:
    """Linear warm-up to the peak, then cosine decay to zero at the end of the phase."""
    if step < plan.warmup_steps:
        return plan.lr * (step + 1) / plan.warmup_steps
    decay_steps = max(1, plan.steps - plan.warmup_steps)
    progress = (step - plan.warmup_steps) / decay_steps
    return 0.5 * plan.lr * (1 + math.cos(math.pi * min(1.0, progress)))


def step_archs(plan: PhasePlan, seed: int, step: int) -> list[Any]:
    """The sub-networks trained at `step` (same on every rank, same after a resume).

    Sandwich: the largest first (its output is the in-place teacher), then the smallest, then
    the random ones.
    """
    if plan.fixed_arch is not None:
        return [plan.fixed_arch]
    rng = np.random.default_rng([seed, plan.index, step, ARCH_STREAM])
    space = plan.space
    random_archs = space.from_population(space.sample_population(plan.config.subnets_per_step, rng))
    if plan.config.sampler == "sandwich":
        return [space.max(), space.min(), *random_archs]
    return random_archs


def dropout_seed(seed: int, phase_index: int, step: int, rank: int) -> int:
    """Seed of the torch generator used for dropout at one step (see loop.train_step)."""
    rng = np.random.default_rng([seed, phase_index, step, rank, DROPOUT_STREAM])
    return int(rng.integers(0, 2**62))
