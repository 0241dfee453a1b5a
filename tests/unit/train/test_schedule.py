from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from onceforall.errors import ConfigError
from onceforall.models.registry import supernet_space
from onceforall.run.config import RunConfig, run_config_from_dict
from onceforall.train.schedule import learning_rate, plan_phases, step_archs

CONFIG = run_config_from_dict(
    {
        "supernet": "test_mbv3_tiny",
        "training": {"batch_size": 32, "base_batch_size": 64},
        "phases": [
            {
                "name": "full",
                "epochs": 2,
                "lr": 0.1,
                "warmup_epochs": 0.5,
                "restrict": {"kernel_sizes": [7], "expand_ratios": [6], "depths": [4]},
            },
            {
                "name": "depth",
                "epochs": 1,
                "lr": 0.01,
                "subnets_per_step": 3,
                "restrict": {"depths": [3, 4]},
            },
            {
                "name": "sandwich",
                "epochs": 1,
                "lr": 0.01,
                "subnets_per_step": 2,
                "sampler": "sandwich",
            },
        ],
    }
)
SPACE = supernet_space("test_mbv3_tiny")


def test_plans_scale_lr_and_count_steps() -> None:
    plans = plan_phases(CONFIG, SPACE, steps_per_epoch=10, world_size=4)
    assert [p.steps for p in plans] == [20, 10, 10]
    assert plans[0].warmup_steps == 5
    assert plans[0].lr == pytest.approx(0.1 * 32 * 4 / 64)
    assert plans[1].space.depths == (3, 4)


def test_learning_rate_warmup_then_cosine() -> None:
    plan = plan_phases(CONFIG, SPACE, steps_per_epoch=10, world_size=1)[0]
    rates = [learning_rate(plan, s) for s in range(plan.steps)]
    assert rates[4] == pytest.approx(plan.lr)
    assert all(a < b for a, b in itertools.pairwise(rates[:5]))
    assert rates[5] == pytest.approx(plan.lr)
    assert rates[-1] == pytest.approx(0.5 * plan.lr * (1 + math.cos(math.pi * 14 / 15)))
    assert all(a >= b for a, b in itertools.pairwise(rates[5:]))


def test_step_archs_deterministic_and_in_phase_space() -> None:
    plans = plan_phases(CONFIG, SPACE, steps_per_epoch=10, world_size=1)
    first = step_archs(plans[1], seed=0, step=3)
    assert first == step_archs(plans[1], seed=0, step=3)
    assert first != step_archs(plans[1], seed=0, step=4)
    assert len(first) == 3 and all(plans[1].space.contains(a) for a in first)
    assert all(set(a.depths) <= {3, 4} for a in first)
    full = step_archs(plans[0], seed=0, step=0)
    assert full[0].depths == (4, 4, 4) and {b.kernel_size for b in full[0].blocks()} == {7}


def test_sandwich_order() -> None:
    plan = plan_phases(CONFIG, SPACE, steps_per_epoch=10, world_size=1)[2]
    archs = step_archs(plan, seed=1, step=0)
    assert archs[0].depths == (4, 4, 4) and archs[1].depths == (2, 2, 2)
    assert len(archs) == 4
    assert archs[0].resolution == max(SPACE.resolutions) and archs[1].resolution == min(
        SPACE.resolutions
    )


def test_restrict_names_are_checked() -> None:
    config = run_config_from_dict(
        {
            "supernet": "test_mbv3_tiny",
            "phases": [
                {"name": "p", "epochs": 1, "lr": 0.1, "restrict": {"width_multipliers": [1]}}
            ],
        }
    )
    with pytest.raises(
        ConfigError, match=r"phases\.p\.restrict: width_multipliers is not a choice"
    ):
        plan_phases(config, SPACE, steps_per_epoch=10, world_size=1)


def test_resnet_phases_restrict_their_own_choices() -> None:
    config = run_config_from_dict(
        {
            "supernet": "test_resnet_tiny",
            "phases": [
                {
                    "name": "p",
                    "epochs": 1,
                    "lr": 0.1,
                    "restrict": {"expand_ratios": [0.25, 0.5], "extra_blocks": [1]},
                },
            ],
        }
    )
    space = supernet_space("test_resnet_tiny")
    plan = plan_phases(config, space, steps_per_epoch=10, world_size=1)[0]
    for arch in step_archs(plan, seed=0, step=0) + step_archs(plan, seed=0, step=1):
        assert plan.space.contains(arch) and space.contains(arch)


def _fixed_arch_config(arch: str, **phase: object) -> RunConfig:
    return run_config_from_dict(
        {
            "supernet": "test_mbv3_tiny",
            "phases": [{"name": "alone", "epochs": 1, "lr": 0.1, "arch": arch, **phase}],
        }
    )


def test_fixed_arch_phase_trains_that_arch_every_step() -> None:
    arch = SPACE.sample(np.random.default_rng(3))
    config = _fixed_arch_config(str(arch))
    plan = plan_phases(config, SPACE, steps_per_epoch=10, world_size=1)[0]
    assert [step_archs(plan, seed=0, step=s) for s in range(3)] == [[arch]] * 3


def test_fixed_arch_is_checked() -> None:
    config = _fixed_arch_config("r999-nonsense")
    with pytest.raises(ConfigError, match=r"phases\.alone\.arch: "):
        plan_phases(config, SPACE, steps_per_epoch=10, world_size=1)
    with pytest.raises(ConfigError, match="trains alone"):
        _fixed_arch_config(str(SPACE.max()), sampler="sandwich")
