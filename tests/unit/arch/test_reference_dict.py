from __future__ import annotations

import numpy as np
import pytest

from onceforall.errors import ArchError
from onceforall.models.registry import supernet_space


def test_round_trip_over_20_slots() -> None:
    space = supernet_space("ofa_mbv3_w12")
    rng = np.random.default_rng(0)
    for _ in range(100):
        arch = space.sample(rng)
        ref = space.to_reference_dict(arch)
        assert len(ref["ks"]) == len(ref["e"]) == 20 and len(ref["d"]) == 5
        assert ref["r"] == [arch.resolution]
        assert space.from_reference_dict(ref) == arch
        assert arch.to_reference_dict() == ref


def test_resolution_forms_and_skipped_slots_ignored() -> None:
    space = supernet_space("ofa_mbv3_w10")
    ks, es = [3] * 20, [4] * 20
    ks[3] = 7  # slot 3 of stage 0 is skipped at depth 2: ignored
    base = {"ks": ks, "e": es, "d": [2, 2, 2, 2, 2]}
    a = space.from_reference_dict({**base, "r": [160]})
    b = space.from_reference_dict({**base, "image_size": 160})
    c = space.from_reference_dict({**base, "wid": None}, resolution=160)
    assert a == b == c
    assert all(block.kernel_size == 3 for block in a.blocks())


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ({"ks": [3] * 19, "e": [4] * 20, "d": [2] * 5, "r": [160]}, "'ks' must be a list of 20"),
        ({"ks": [3] * 20, "e": [4] * 20, "d": [2] * 5}, "no resolution"),
        ({"ks": [3] * 20, "e": [4] * 20, "d": [2] * 5, "r": [160, 176]}, "one resolution"),
        (
            {"ks": [3] * 20, "e": [4] * 20, "d": [5] * 5, "r": [160]},
            "'d'\\[0\\]=5 must be within 1..4",
        ),
        ({"ks": [3] * 20, "e": [4] * 20, "d": [2] * 5, "r": [160], "x": 1}, "unknown keys"),
        ({"ks": [3] * 20, "e": [5] * 20, "d": [2] * 5, "r": [160]}, "expand_ratio=5"),
        ({"ks": [3.0] * 20, "e": [4] * 20, "d": [2] * 5, "r": [160]}, "must hold integers"),
    ],
)
def test_errors(ref: dict, message: str) -> None:
    with pytest.raises(ArchError, match=message):
        supernet_space("ofa_mbv3_w10").from_reference_dict(ref)
