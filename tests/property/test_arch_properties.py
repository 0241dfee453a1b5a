"""Hypothesis properties of the arch values and the supernets that hold them, for every family."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import randomize_
from onceforall.models.registry import create_supernet, supernet_space

SPACES = {
    name: supernet_space(name) for name in ("ofa_mbv3_w10", "ofa_proxyless_w13", "ofa_resnet50")
}
TINY = {
    name: randomize_(create_supernet(name)).eval()
    for name in ("test_mbv3_tiny", "test_proxyless_tiny", "test_resnet_tiny")
}

seeds = st.integers(min_value=0, max_value=2**32 - 1)
spaces = pytest.mark.parametrize("name", sorted(SPACES))


@spaces
@given(seed=seeds)
def test_codec_json_and_reference_round_trip(name: str, seed: int) -> None:
    space: Any = SPACES[name]
    arch = space.sample(np.random.default_rng(seed))
    assert type(arch).from_str(str(arch)) == arch
    assert space.arch_from_json(arch.to_json()) == arch
    assert space.from_reference_dict(space.to_reference_dict(arch)) == arch


@spaces
@given(seed=seeds, prob=st.floats(0.0, 1.0), resolution_prob=st.floats(0.0, 1.0))
def test_sample_mutate_crossover_closed_under_space(
    name: str, seed: int, prob: float, resolution_prob: float
) -> None:
    space: Any = SPACES[name]
    rng = np.random.default_rng(seed)
    a, b = space.sample(rng), space.sample(rng)
    assert space.contains(a) and space.contains(b)
    assert space.contains(space.mutate(a, rng, prob, resolution_prob))
    assert space.contains(space.crossover(a, b, rng))


@spaces
@given(seed=seeds)
def test_determinism_per_seed(name: str, seed: int) -> None:
    space: Any = SPACES[name]
    assert space.sample(np.random.default_rng(seed)) == space.sample(np.random.default_rng(seed))
    first = space.mutate(space.max(), np.random.default_rng(seed), 0.5)
    assert first == space.mutate(space.max(), np.random.default_rng(seed), 0.5)


@pytest.mark.parametrize("name", sorted(TINY))
@settings(max_examples=15, deadline=None)
@given(seed=seeds)
def test_export_equivalence_and_using_has_no_side_effects(name: str, seed: int) -> None:
    net = TINY[name]
    rng = np.random.default_rng(seed)
    arch, other = net.space.sample(rng), net.space.sample(rng)
    net.set_arch(other)
    x = torch.randn(
        2, 3, arch.resolution, arch.resolution, generator=torch.Generator().manual_seed(seed)
    )
    with torch.no_grad(), net.using(arch):
        expected = net(x)
        got = net.export(arch)(x)
    assert net.arch == other
    assert (expected - got).abs().max().item() <= 1e-5
