from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from onceforall.arch.resnet import ResNetStem
from onceforall.errors import ArchError
from onceforall.models.registry import supernet_space

SPACE = supernet_space("ofa_resnet50")


def test_round_trip_over_18_slots() -> None:
    rng = np.random.default_rng(0)
    for _ in range(100):
        arch = SPACE.sample(rng)
        ref = SPACE.to_reference_dict(arch)
        assert len(ref["e"]) == 18 and len(ref["d"]) == 5 and len(ref["w"]) == 6
        assert ref["image_size"] == arch.resolution
        assert SPACE.from_reference_dict(ref) == arch


def test_encoding_of_the_reference() -> None:
    """d: stem (2 keeps the residual conv, anything else skips it), then extra blocks per stage;
    w: indices into (0.65, 0.8, 1.0) for stem mid, stem output, stages; e: per slot."""
    e = [0.2] * 18
    e[2] = 0.35  # stage 0 slot 2: runs at d=1
    e[3] = 0.25  # stage 0 slot 3: skipped at d=1, ignored
    ref = {"d": [1, 1, 0, 2, 0], "e": e, "w": [1, 2, 0, 1, 2, 0], "r": [192]}
    arch = SPACE.from_reference_dict(ref)
    assert arch.stem == ResNetStem(2, 0.65, 1.0)  # d[0]=1 skips; w[0]=0.8 is 0.65's 24 channels
    assert arch.depths == (3, 2, 6, 2) and arch.width_multipliers == (0.65, 0.8, 1.0, 0.65)
    assert arch.expand_ratios[0] == (0.2, 0.2, 0.35) and arch.resolution == 192
    back = SPACE.to_reference_dict(arch)
    assert back["d"] == [0, 1, 0, 2, 0] and back["w"] == [0, 2, 0, 1, 2, 0]
    assert back["e"][3] == 0.35  # padding repeats the stage's last block
    full = SPACE.to_reference_dict(replace(arch, stem=ResNetStem(3, 1.0, 1.0)))
    assert full["d"][0] == 2 and full["w"][:2] == [2, 2]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"w": [0, 0, 0, 0, 0, 3]}, r"'w'\[5\]=3 is not an index"),
        ({"w": [0, 0, 0]}, "'w' must be a list of 6 integers"),
        ({"d": [2, 0, 3, 0, 0]}, r"'d'\[2\]=3 must be within 0..2"),
        ({"e": [0.2] * 17}, "'e' must be a list of 18 numbers"),
        ({"e": ["x"] * 18}, "'e' must hold numbers"),
        ({"e": [0.3] * 18}, "expand_ratio=0.3 not in"),
        ({"ks": [3] * 18}, r"unknown keys in the reference dict: \['ks'\]"),
    ],
)
def test_bad_reference_dicts(change: dict[str, object], message: str) -> None:
    ref = {"d": [2, 0, 0, 0, 0], "e": [0.2] * 18, "w": [0] * 6, "image_size": 224, **change}
    with pytest.raises(ArchError, match=message):
        SPACE.from_reference_dict(ref)
    with pytest.raises(ArchError, match="no resolution"):
        SPACE.from_reference_dict({"d": [2, 0, 0, 0, 0], "e": [0.2] * 18, "w": [0] * 6})
