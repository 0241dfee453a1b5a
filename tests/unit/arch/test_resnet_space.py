from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from onceforall.arch.resnet import ResNetArch, ResNetStage, ResNetStem
from onceforall.arch.resnet_layout import resnet50_layout
from onceforall.arch.resnet_space import ResNetSpace
from onceforall.arch.space import unique_rows
from onceforall.errors import ArchError
from onceforall.models.registry import supernet_space


@pytest.fixture
def space() -> ResNetSpace:
    return ResNetSpace(resnet50_layout(1000))


def test_layout_widths_are_the_reference_ones(space: ResNetSpace) -> None:
    layout = space.layout
    assert [layout.stem_channels(w) for w in (0.65, 0.8, 1.0)] == [40, 48, 64]
    assert [layout.stem_mid_channels(w) for w in (0.65, 0.8, 1.0)] == [24, 24, 32]
    assert layout.stage_out_choices(0) == (168, 208, 256)
    assert layout.stage_out_choices(3) == (1328, 1640, 2048)
    assert layout.slots_per_stage == (4, 4, 6, 4)
    assert layout.mid_channels(208, 0.2) == 40  # round(41.6) = 42 -> 40
    assert [layout.has_projection(s, 0) for s in range(4)] == [True] * 4
    assert not layout.has_projection(0, 1)


def test_size_is_exact(space: ResNetSpace) -> None:
    # stem: 2 depths x 2 distinct mid widths x 3 widths; stage: 3 widths x sum_d 3^d
    stage = lambda base: 3 * sum(3**d for d in (base, base + 1, base + 2))  # noqa: E731
    assert space.size() == 2 * 2 * 3 * stage(2) ** 3 * stage(4)
    assert space.size(with_resolutions=True) == 8 * space.size()


def test_size_counts_small_space_by_enumeration() -> None:
    tiny = supernet_space("test_resnet_tiny").restrict(
        extra_blocks=[0, 1],
        expand_ratios=[0.25, 1.0],
        width_multipliers=[1.0],
        stem_depths=[3],
        resolutions=[16],
    )
    assert tiny.size() == (2 + 2**2) ** 3
    # rarest network: 1/8 per stage, so 20k draws see them all
    rows = unique_rows(tiny.sample_population(20_000, np.random.default_rng(0)))
    assert len(rows) == tiny.size(with_resolutions=True) == tiny.size()


def test_max_and_min(space: ResNetSpace) -> None:
    largest, smallest = space.max(), space.min()
    assert largest.depths == (4, 4, 6, 4) and smallest.depths == (2, 2, 4, 2)
    assert largest.stem == ResNetStem(3, 1.0, 1.0)
    assert smallest.stem == ResNetStem(2, 0.65, 0.65)
    assert largest.resolution == 256 and smallest.resolution == 128
    assert set(largest.width_multipliers) == {1.0} and set(smallest.width_multipliers) == {0.65}


def test_stem_mid_width_is_canonical(space: ResNetSpace) -> None:
    assert space.stem_mid_width_multipliers == (0.65, 1.0)
    arch = replace(space.max(), stem=ResNetStem(3, 0.8, 1.0))
    with pytest.raises(ArchError, match=r"gives the same 24 channels as 0\.65: write 0\.65"):
        space.validate(arch)
    # a space without 0.65 still writes the 24-channel stem as 0.65 (the same network)
    narrow = space.restrict(width_multipliers=[0.8, 1.0])
    assert narrow.stem_mid_width_multipliers == (0.65, 1.0)
    assert space.contains(narrow.min())


def test_arch_is_canonical_and_hashable(space: ResNetSpace) -> None:
    text = "r160-s3m0.65w1.0-w0.65:e0.2_e0.25-w0.8:e0.25_e0.2_e0.35-w1.0:e0.2_e0.2_e0.2_e0.2"
    text += "-w1.0:e0.35_e0.35"
    a = space.parse(text)
    b = ResNetArch.from_lists(
        160,
        ResNetStem(3, 0.65, 1),
        [0.65, 0.8, 1, 1.0],
        [[0.2, 0.25], [0.25, 0.2, 0.35], [0.2] * 4, [0.35, 0.35]],
    )
    assert a == b and hash(a) == hash(b) and a.depths == (2, 3, 4, 2)
    assert str(b) == text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"resolution": 200}, "resolution=200 not in"),
        ({"resolution": 224.0}, r"resolution=224\.0 not in"),
        ({"stem": ResNetStem(3, 1.0, True)}, "stem width_multiplier=True not in"),
        ({"stem": ResNetStem(4, 1.0, 1.0)}, r"stem depth=4 not in \(2, 3\)"),
        ({"stem": ResNetStem(3, 1.0, 0.7)}, "stem width_multiplier=0.7 not in"),
        ({"stem": ResNetStem(3, 0.9, 1.0)}, r"stem mid_width_multiplier=0.9 not in \(0.65, 1.0\)"),
        ({"stages": ()}, "the arch has 0 stages, the space has 4"),
    ],
)
def test_validation_messages(space: ResNetSpace, change: dict[str, object], message: str) -> None:
    arch = replace(space.max(), **change)  # type: ignore[arg-type]
    with pytest.raises(ArchError, match=message):
        space.validate(arch)
    assert not space.contains(arch)


def test_stage_validation_messages(space: ResNetSpace) -> None:
    stages = list(space.max().stages)
    for stage, message in (
        (ResNetStage(0.7, (0.2, 0.2)), "stage 1: width_multiplier=0.7 not in"),
        (ResNetStage(1.0, (0.2,)), r"stage 1: depth=1 not in \(2, 3, 4\)"),
        (ResNetStage(1.0, (0.2, 0.3)), "stage 1 block 1: expand_ratio=0.3 not in"),
    ):
        arch = replace(space.max(), stages=(stages[0], stage, *stages[2:]))
        with pytest.raises(ArchError, match=message):
            space.validate(arch)
    with pytest.raises(ArchError, match="expected a ResNetArch"):
        space.validate("r224")  # type: ignore[arg-type]


def test_bad_space_choices(space: ResNetSpace) -> None:
    with pytest.raises(ArchError, match="not among the layout's"):
        ResNetSpace(space.layout, width_multipliers=(0.5, 1.0))
    with pytest.raises(ArchError, match=r"not a positive multiple of 0\.001"):
        ResNetSpace(space.layout, expand_ratios=(0.2, 0.12345))
    with pytest.raises(ArchError, match="equal widths would be one network twice"):
        ResNetSpace(space.layout, expand_ratios=(0.2, 0.21))
    with pytest.raises(ArchError, match="stem_depths"):
        ResNetSpace(space.layout, stem_depths=(1, 3))
    with pytest.raises(ArchError, match="no choice fits stage 0"):
        ResNetSpace(space.layout, extra_blocks=(3,))
    with pytest.raises(ArchError, match=r"restrict: expand_ratios \[0.3\] not in"):
        space.restrict(expand_ratios=[0.3])


def test_restrict_and_describe(space: ResNetSpace) -> None:
    small = space.restrict(extra_blocks=[0], expand_ratios=[0.35], stem_depths=[3])
    assert small.size() == 2 * 3 * 3**4 and small.max().depths == small.min().depths
    assert space.contains(small.sample(np.random.default_rng(0)))
    info = space.describe()
    assert info["extra_blocks"] == [[0, 1, 2]] * 4 and info["num_classes"] == 1000
    assert info["stem_mid_width_multiplier"] == [0.65, 1.0]


def test_population_round_trip_and_membership(space: ResNetSpace) -> None:
    rng = np.random.default_rng(3)
    population = space.sample_population(500, rng)
    assert population.shape == (500, 30) and population.dtype == np.int32
    archs = space.from_population(population)
    assert all(space.contains(a) for a in archs)
    np.testing.assert_array_equal(space.to_population(archs), population)
    assert space.contains_population(population).all()
    broken = population.copy()
    broken[:, space.column("expand_ratio").stop - 1] = 300  # not a ratio, or an inactive slot
    broken[:10, space.column("stem_mid_width")] = 800  # the non-canonical stem mid
    assert not space.contains_population(broken).any()


def test_population_operations_stay_in_the_space(space: ResNetSpace) -> None:
    rng = np.random.default_rng(4)
    first, second = space.sample_population(300, rng), space.sample_population(300, rng)
    for population in (
        space.mutate_population(first, rng, prob=0.5, resolution_prob=1.0),
        space.crossover_population(first, second, rng),
    ):
        assert space.contains_population(population).all()
    unchanged = space.mutate_population(first, rng, prob=0.0, resolution_prob=0.0)
    np.testing.assert_array_equal(unchanged, first)


def test_json_round_trip_and_errors(space: ResNetSpace) -> None:
    arch = space.sample(np.random.default_rng(5))
    assert space.arch_from_json(arch.to_json()) == arch
    with pytest.raises(ArchError, match="exactly the keys"):
        space.arch_from_json({"resolution": 224})
    bad_stem = {**arch.to_json(), "stem": {"depth": 3}}
    with pytest.raises(ArchError, match="'stem' has exactly the keys"):
        space.arch_from_json(bad_stem)
    with pytest.raises(ArchError, match="one entry per stage"):
        space.arch_from_json({**arch.to_json(), "width_multipliers": [1.0]})
