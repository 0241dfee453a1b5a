from __future__ import annotations

import numpy as np
import pytest

from onceforall.arch.mbv3 import MBv3Arch
from onceforall.errors import CodecError
from onceforall.models.registry import supernet_space


def test_round_trip() -> None:
    space = supernet_space("ofa_mbv3_w10")
    rng = np.random.default_rng(0)
    for _ in range(200):
        arch = space.sample(rng)
        assert MBv3Arch.from_str(str(arch)) == arch
        assert space.parse(str(arch)) == arch


def test_format_example() -> None:
    arch = MBv3Arch.from_lists(160, [[3, 5], [7, 3, 5]], [[4, 6], [3, 3, 4]])
    assert str(arch) == "r160-k3e4_k5e6-k7e3_k3e3_k5e4"


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("", 0, "'r'"),
        ("x160-k3e4", 0, "'r'"),
        ("r-k3e4", 1, "a number \\(resolution\\)"),
        ("r160", 4, "'-' and a stage"),
        ("r160-", 5, "'k'"),
        ("r160-k3", 7, "'e'"),
        ("r160-k3e", 8, "a number \\(expand ratio\\)"),
        ("r160-k3e4_", 10, "'k'"),
        ("r160-k3e4 ", 9, "'-', '_' or the end"),
        ("r160-k03e4", 6, "a number without leading zeros"),
        ("r160-k3e4--k3e4", 10, "'k'"),
    ],
)
def test_malformed_strings_name_the_position(text: str, position: int, expected: str) -> None:
    with pytest.raises(CodecError, match=f"at position {position} expected {expected}"):
        MBv3Arch.from_str(text)


def test_non_string() -> None:
    with pytest.raises(CodecError, match="is a str"):
        MBv3Arch.from_str(160)  # type: ignore[arg-type]
