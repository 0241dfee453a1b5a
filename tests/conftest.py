"""Shared fixtures: the reference implementation as an oracle, and weight randomization."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

from onceforall.compat.reference_oracle import ReferenceUnavailable, import_reference

# The networks in unit tests are tiny: one thread avoids paying for thread coordination on every
# op (a 2-core machine shared with other work can make a tiny forward 100x slower with 2).
torch.set_num_threads(1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture(scope="session")
def reference_networks() -> Any:
    """The reference's elastic network module; skips if not installed, unless CI requires it."""
    try:
        return import_reference("ofa.imagenet_classification.elastic_nn.networks")
    except ReferenceUnavailable as error:
        if os.environ.get("ONCEFORALL_REQUIRE_REFERENCE") == "1":
            pytest.fail(f"the reference oracle is required here: {error}")
        pytest.skip(str(error))


@torch.no_grad()
def randomize_(module: nn.Module, seed: int = 0) -> nn.Module:
    """Weights and BN statistics with O(1) activations, so comparisons are meaningful."""
    generator = torch.Generator().manual_seed(seed)
    for name, tensor in module.state_dict().items():
        if not tensor.dtype.is_floating_point:
            continue
        shape = tensor.shape
        if name.endswith("running_var"):
            value = torch.rand(shape, generator=generator) + 0.5
        elif name.endswith("running_mean") or name.endswith("bias"):
            value = 0.1 * torch.randn(shape, generator=generator)
        elif "matrix" in name or "kernel_transforms" in name:
            value = torch.eye(shape[0]) + 0.1 * torch.randn(shape, generator=generator)
        elif tensor.dim() == 1:  # BN weight
            value = torch.rand(shape, generator=generator) + 0.5
        else:
            fan_in = tensor[0].numel()
            value = torch.randn(shape, generator=generator) / fan_in**0.5
        tensor.copy_(value)
    return module


@pytest.fixture
def randomize() -> Callable[..., nn.Module]:
    return randomize_
