from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from onceforall.arch.mbv3 import MBv3Arch, MBv3Block, MBv3Space
from onceforall.arch.mbv3_layout import mobilenet_v3_layout
from onceforall.arch.space import unique_rows
from onceforall.errors import ArchError
from onceforall.models.registry import supernet_space


@pytest.fixture
def space() -> MBv3Space:
    return MBv3Space(mobilenet_v3_layout(1.0, 1000))


def test_size_is_exact(space: MBv3Space) -> None:
    assert space.size() == 21_758_655_492_572_485_851
    assert space.size(with_resolutions=True) == 21_758_655_492_572_485_851 * 25
    assert len(space.resolutions) == 25 and space.resolutions[0] == 128


def test_size_counts_small_space_by_enumeration() -> None:
    tiny = supernet_space("test_mbv3_tiny").restrict(
        kernel_sizes=[3, 5], expand_ratios=[4], depths=[2, 3]
    )
    per_stage = 2**2 + 2**3
    assert tiny.size() == per_stage**3
    # rarest network: 1/16 per stage and 1/3 for the resolution, so 200k draws see them all
    rows = unique_rows(tiny.sample_population(200_000, np.random.default_rng(0)))
    assert len(rows) == tiny.size(with_resolutions=True) == tiny.size() * 3


def test_max_and_min(space: MBv3Space) -> None:
    assert space.max().depths == (4,) * 5
    assert all(b == MBv3Block(7, 6) for b in space.max().blocks())
    assert space.min().depths == (2,) * 5 and space.min().resolution == 128
    assert all(b == MBv3Block(3, 3) for b in space.min().blocks())


def test_arch_is_canonical_and_hashable(space: MBv3Space) -> None:
    a = space.parse("r160-k3e4_k5e6-k7e3_k3e3_k5e4-k3e3_k3e3-k3e3_k3e3-k3e3_k3e3")
    b = MBv3Arch.from_lists(
        160,
        [[3, 5], [7, 3, 5], [3, 3], [3, 3], [3, 3]],
        [[4, 6], [3, 3, 4], [3, 3], [3, 3], [3, 3]],
    )
    assert a == b and hash(a) == hash(b) and a.depths == (2, 3, 2, 2, 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "r160-k3e4_k5e6-k7e3_k3e3_k5e4-k3e3_k3e3-k3e3_k3e3-k3e3_k9e3",
            "kernel_size=9 not in (3, 5, 7)",
        ),
        (
            "r160-k3e4_k5e6-k7e3_k3e3_k5e4-k3e3_k3e3-k3e3_k3e3-k3e3_k3e5",
            "stage 4 block 1: expand_ratio=5",
        ),
        (
            "r161-k3e4_k5e6-k7e3_k3e3_k5e4-k3e3_k3e3-k3e3_k3e3-k3e3_k3e3",
            "resolution=161 not in 128..224 step 4",
        ),
        (
            "r160-k3e4-k7e3_k3e3_k5e4-k3e3_k3e3-k3e3_k3e3-k3e3_k3e3",
            "stage 0: depth=1 not in (2, 3, 4)",
        ),
        ("r160-k3e4_k3e4-k3e3_k3e3-k3e3_k3e3-k3e3_k3e3", "the arch has 4 stages, the space has 5"),
    ],
)
def test_validate_names_field_value_and_choices(space: MBv3Space, text: str, message: str) -> None:
    with pytest.raises(ArchError, match=message.replace("(", r"\(").replace(")", r"\)")):
        space.parse(text)
    assert not space.contains(MBv3Arch.from_str(text))


def test_contains_rejects_other_types(space: MBv3Space) -> None:
    assert not space.contains("r160")
    assert space.contains(space.max())


def test_restrict(space: MBv3Space) -> None:
    phase = space.restrict(depths=[3, 4], kernel_sizes=[7])
    rng = np.random.default_rng(0)
    for _ in range(50):
        arch = phase.sample(rng)
        assert set(arch.depths) <= {3, 4}
        assert {b.kernel_size for b in arch.blocks()} == {7}
        assert space.contains(arch)
    with pytest.raises(ArchError, match=r"restrict: depths \[5\] not in \(2, 3, 4\)"):
        space.restrict(depths=[4, 5])


def test_population_round_trip_and_canonical_rows(space: MBv3Space) -> None:
    rng = np.random.default_rng(1)
    population = space.sample_population(500, rng)
    archs = space.from_population(population)
    assert np.array_equal(space.to_population(archs), population)
    assert space.contains_population(population).all()
    assert all(space.contains(a) for a in archs)
    # inactive slots are zero: equal networks have equal rows
    _, k_cols, _ = space.columns()
    active = space.active_slots(population)
    assert (population[:, k_cols][~active] == 0).all()
    assert (population[:, k_cols][active] > 0).all()


def test_contains_population_rejects_noncanonical_rows(space: MBv3Space) -> None:
    row = space.to_population([space.min()])
    _, k_cols, _ = space.columns()
    row[0, k_cols.start + 3] = 7  # slot 3 of stage 0 is inactive at depth 2
    assert not space.contains_population(row)[0]


def test_mutation_and_crossover_stay_in_space(space: MBv3Space) -> None:
    rng = np.random.default_rng(2)
    parents = space.sample_population(400, rng)
    mutated = space.mutate_population(parents, rng, prob=0.3, resolution_prob=0.5)
    assert space.contains_population(mutated).all()
    assert (mutated != parents).any(axis=1).mean() > 0.9
    children = space.crossover_population(parents, mutated[::-1], rng)
    assert space.contains_population(children).all()
    unchanged = space.mutate_population(parents, rng, prob=0.0, resolution_prob=0.0)
    assert np.array_equal(unchanged, parents)


def test_crossover_genes_come_from_a_parent(space: MBv3Space) -> None:
    rng = np.random.default_rng(3)
    a, b = space.sample_population(200, rng), space.sample_population(200, rng)
    child = space.crossover_population(a, b, rng)
    assert ((child == a) | (child == b) | (child == 0)).all()
    depth_cols, _, _ = space.columns()
    assert (
        (child[:, depth_cols] == a[:, depth_cols]) | (child[:, depth_cols] == b[:, depth_cols])
    ).all()


def test_sampling_is_deterministic_per_seed(space: MBv3Space) -> None:
    first = space.sample_population(20, np.random.default_rng(7))
    second = space.sample_population(20, np.random.default_rng(7))
    assert np.array_equal(first, second)
    assert space.mutate(space.max(), np.random.default_rng(5)) == space.mutate(
        space.max(), np.random.default_rng(5)
    )


def test_sample_distinct(space: MBv3Space) -> None:
    archs = space.sample_distinct(300, np.random.default_rng(0))
    assert len(set(archs)) == 300
    tiny = space.restrict(kernel_sizes=[3], expand_ratios=[3], depths=[2], resolutions=[128, 132])
    assert set(tiny.sample_distinct(2, np.random.default_rng(0))) == {
        tiny.min(),
        replace(tiny.min(), resolution=132),
    }
    with pytest.raises(ArchError, match="cannot sample 3 distinct"):
        tiny.sample_distinct(3, np.random.default_rng(0))


def test_uniform(space: MBv3Space) -> None:
    arch = space.uniform(176, 5, 4, 3)
    assert arch.depths == (3,) * 5 and {b for b in arch.blocks()} == {MBv3Block(5, 4)}


def test_json_round_trip_and_strict_keys(space: MBv3Space) -> None:
    arch = space.sample(np.random.default_rng(4))
    assert space.arch_from_json(arch.to_json()) == arch
    with pytest.raises(ArchError, match="exactly the keys"):
        space.arch_from_json({**arch.to_json(), "extra": 1})
