"""The distillation teacher's batch norm: soft targets must not depend on stale statistics."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import Tensor, nn

from onceforall.models.registry import create_supernet
from onceforall.nn.bn import batch_norms, recalibrate_bn
from onceforall.train.teacher import Teacher


def _images(resolution: int, count: int, seed: int) -> Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(count, 3, resolution, resolution, generator=generator)


def _calibration(resolution: int) -> list[Tensor]:
    return [_images(resolution, 16, seed=resolution + i) for i in range(2)]


def _largest(dropout: float = 0.0) -> nn.Module:
    net = create_supernet("test_mbv3_tiny", 4, init_seed=0, dropout=dropout)
    model = net.static(net.space.max())
    with torch.no_grad():  # statistics as after training on a mix of resolutions: off for each
        for index, bn in enumerate(batch_norms(model)):
            generator = torch.Generator().manual_seed(index)
            assert bn.running_mean is not None and bn.running_var is not None
            bn.running_mean.copy_(torch.randn(bn.running_mean.shape, generator=generator))
            bn.running_var.copy_(torch.rand(bn.running_var.shape, generator=generator) + 0.5)
    return model


def _with_other_statistics(model: nn.Module) -> nn.Module:
    other = copy.deepcopy(model)
    with torch.no_grad():
        for bn in batch_norms(other):
            assert bn.running_mean is not None and bn.running_var is not None
            bn.running_mean.mul_(-3.0).add_(1.0)
            bn.running_var.mul_(4.0)
    return other


@pytest.mark.parametrize("mode", ["batch", "recalibrated"])
def test_soft_targets_ignore_running_statistics(mode: str) -> None:
    model = _largest()
    teacher = Teacher(model, mode, _calibration)  # type: ignore[arg-type]
    other = Teacher(_with_other_statistics(model), mode, _calibration)  # type: ignore[arg-type]
    for resolution in (16, 24, 16):
        images = _images(resolution, 8, seed=99)
        torch.testing.assert_close(teacher(images), other(images), rtol=1e-4, atol=1e-5)


def test_eval_mode_uses_running_statistics() -> None:
    model = _largest()
    teacher = Teacher(model, "eval")
    other = Teacher(_with_other_statistics(model), "eval")
    images = _images(16, 8, seed=99)
    assert not torch.allclose(teacher(images), other(images), atol=1e-3)


def test_recalibrated_teacher_equals_a_recalibrated_copy_per_resolution() -> None:
    model = _largest()
    teacher = Teacher(copy.deepcopy(model), "recalibrated", _calibration)
    for resolution in (24, 16, 24):
        expected = copy.deepcopy(model)
        recalibrate_bn(expected, _calibration(resolution))
        images = _images(resolution, 8, seed=5)
        with torch.no_grad():
            torch.testing.assert_close(teacher(images), expected.eval()(images))


@pytest.mark.parametrize("mode", ["batch", "recalibrated", "eval"])
def test_state_is_the_original_and_nothing_learns(mode: str) -> None:
    model = _largest(dropout=0.5)
    original = {k: v.clone() for k, v in model.state_dict().items()}
    teacher = Teacher(model, mode, _calibration)  # type: ignore[arg-type]
    images = _images(16, 8, seed=1)
    first = teacher(images)
    torch.testing.assert_close(teacher(images), first)  # dropout off, nothing updated
    teacher(_images(24, 8, seed=2))
    state = teacher.state_dict()
    assert state.keys() == original.keys()
    for key, value in original.items():
        assert torch.equal(state[key], value), key
    assert not any(p.requires_grad for p in model.parameters())
    if mode == "batch":  # the running statistics are never touched
        for key, value in model.state_dict().items():
            assert torch.equal(value, original[key]), key


def test_recalibrated_teacher_needs_calibration_images() -> None:
    with pytest.raises(ValueError, match="calibration"):
        Teacher(_largest(), "recalibrated")
