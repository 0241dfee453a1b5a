"""Feature encoding: the paper's one-hot layout, vectorized, equal to a per-arch spelling of it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from onceforall.arch.mbv3 import MBv3Arch, MBv3Space
from onceforall.errors import ArchError, PredictorError
from onceforall.families.mbv3_features import FeatureEncoding
from onceforall.models.registry import list_supernets, supernet_space


def one_hot_by_hand(encoding: FeatureEncoding, arch: MBv3Arch) -> np.ndarray:
    """The encoding written out per slot, as the paper describes it."""
    ks, es = encoding.kernel_sizes, encoding.expand_ratios
    kernel = np.zeros((encoding.num_slots, len(ks)))
    expand = np.zeros((encoding.num_slots, len(es)))
    slot = 0
    for stage, slots in zip(arch.stages, encoding.slots_per_stage, strict=True):
        for position in range(slots):
            if position < len(stage):
                kernel[slot, ks.index(stage[position].kernel_size)] = 1
                expand[slot, es.index(stage[position].expand_ratio)] = 1
            slot += 1
    resolution = np.zeros(len(encoding.resolution_bins))
    edges = [i for i, edge in enumerate(encoding.resolution_bins) if edge <= arch.resolution]
    resolution[edges[-1]] = 1
    return np.concatenate([kernel.ravel(), expand.ravel(), resolution])


MBV3_NAMES = [n for n in list_supernets() if isinstance(supernet_space(n), MBv3Space)]


@pytest.mark.parametrize("name", MBV3_NAMES)
def test_encoding_equals_per_arch_spelling(name: str) -> None:
    space = supernet_space(name)
    assert isinstance(space, MBv3Space)
    encoding = FeatureEncoding.for_space(space)
    population = space.sample_population(50, np.random.default_rng(0))
    population = np.concatenate([population, space.to_population([space.min(), space.max()])])
    features = encoding.encode(space, population)
    assert features.dtype == np.float32
    assert features.shape == (len(population), encoding.width)
    for row, arch in zip(features, space.from_population(population), strict=True):
        np.testing.assert_array_equal(row, one_hot_by_hand(encoding, arch))
    active = space.active_slots(population).sum(axis=1)
    np.testing.assert_array_equal(features.sum(axis=1), 2 * active + 1)


def test_released_encoding_has_128_inputs_and_bins_of_16(w12_space: MBv3Space) -> None:
    encoding = FeatureEncoding.released_mbv3()
    assert encoding.width == 128
    archs = [w12_space.min(), w12_space.max()]
    resolutions = [128, 132, 140, 144, 160, 220, 224]
    population = w12_space.to_population(
        [MBv3Arch(r, archs[i % 2].stages) for i, r in enumerate(resolutions)]
    )
    bins = encoding.encode(w12_space, population)[:, 120:].argmax(axis=1)
    assert bins.tolist() == [(r - 112) // 16 for r in resolutions]


def test_released_encoding_equals_reference_spec2feats(
    w12_space: MBv3Space, tutorial_predictor_module: Any
) -> None:
    encoding = FeatureEncoding.released_mbv3()
    population = w12_space.sample_population(300, np.random.default_rng(1))
    ours = encoding.encode(w12_space, population)
    for row, arch in zip(ours, w12_space.from_population(population), strict=True):
        ref = w12_space.to_reference_dict(arch)
        theirs = tutorial_predictor_module.AccuracyPredictor.spec2feats(
            list(ref["ks"]), list(ref["e"]), list(ref["d"]), ref["r"][0]
        )
        np.testing.assert_array_equal(row, theirs.numpy())


def test_check_space_names_what_differs(tiny_space: MBv3Space, w12_space: MBv3Space) -> None:
    encoding = FeatureEncoding.for_space(w12_space)
    encoding.check_space(w12_space)
    encoding.check_space(w12_space.restrict(kernel_sizes=[3, 5], resolutions=[160, 224]))
    with pytest.raises(PredictorError, match="block slots per stage"):
        encoding.check_space(tiny_space)
    narrow = FeatureEncoding.for_space(w12_space.restrict(expand_ratios=[3, 4]))
    with pytest.raises(PredictorError, match=r"expand_ratios \[6\]"):
        narrow.check_space(w12_space)


def test_values_outside_the_encoding_are_errors(w12_space: MBv3Space) -> None:
    encoding = FeatureEncoding.for_space(w12_space.restrict(kernel_sizes=[3, 5]))
    with pytest.raises(ArchError, match="kernel_size=7"):
        encoding.encode(w12_space, w12_space.to_population([w12_space.max()]))
    with pytest.raises(ArchError, match="columns"):
        encoding.encode(w12_space, np.zeros((2, 3), dtype=np.int32))


def test_json_round_trip() -> None:
    encoding = FeatureEncoding.released_mbv3()
    assert FeatureEncoding.from_json(encoding.to_json()) == encoding
    with pytest.raises(PredictorError):
        FeatureEncoding.from_json({"kernel_sizes": [3]})
    with pytest.raises(PredictorError, match="sorted"):
        FeatureEncoding((5, 3), (3,), (1,), (8,))
