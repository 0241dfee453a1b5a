"""Hypothesis properties of the arch values and the supernet that holds them."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import randomize_
from onceforall.arch.mbv3 import MBv3Arch
from onceforall.models.registry import create_supernet, supernet_space

SPACE = supernet_space("ofa_mbv3_w10")
TINY = randomize_(create_supernet("test_mbv3_tiny")).eval()

seeds = st.integers(min_value=0, max_value=2**32 - 1)


@given(seeds)
def test_codec_json_and_reference_round_trip(seed: int) -> None:
    arch = SPACE.sample(np.random.default_rng(seed))
    assert MBv3Arch.from_str(str(arch)) == arch
    assert SPACE.arch_from_json(arch.to_json()) == arch
    assert SPACE.from_reference_dict(SPACE.to_reference_dict(arch)) == arch


@given(seeds, st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_sample_mutate_crossover_closed_under_space(
    seed: int, prob: float, resolution_prob: float
) -> None:
    rng = np.random.default_rng(seed)
    a, b = SPACE.sample(rng), SPACE.sample(rng)
    assert SPACE.contains(a) and SPACE.contains(b)
    assert SPACE.contains(SPACE.mutate(a, rng, prob, resolution_prob))
    assert SPACE.contains(SPACE.crossover(a, b, rng))


@given(seeds)
def test_determinism_per_seed(seed: int) -> None:
    assert SPACE.sample(np.random.default_rng(seed)) == SPACE.sample(np.random.default_rng(seed))
    first = SPACE.mutate(SPACE.max(), np.random.default_rng(seed), 0.5)
    assert first == SPACE.mutate(SPACE.max(), np.random.default_rng(seed), 0.5)


@settings(max_examples=25, deadline=None)
@given(seeds)
def test_export_equivalence_and_using_has_no_side_effects(seed: int) -> None:
    rng = np.random.default_rng(seed)
    arch, other = TINY.space.sample(rng), TINY.space.sample(rng)
    TINY.set_arch(other)
    x = torch.randn(
        2, 3, arch.resolution, arch.resolution, generator=torch.Generator().manual_seed(seed)
    )
    with torch.no_grad(), TINY.using(arch):
        expected = TINY(x)
        got = TINY.export(arch)(x)
    assert TINY.arch == other
    assert (expected - got).abs().max().item() <= 1e-5
