from __future__ import annotations

import numpy as np
import pytest

from onceforall.arch.resnet import ResNetArch, ResNetStage, ResNetStem
from onceforall.arch.resnet_codec import format_decimal
from onceforall.errors import CodecError
from onceforall.models.registry import supernet_space


def test_round_trip() -> None:
    space = supernet_space("ofa_resnet50")
    rng = np.random.default_rng(0)
    for _ in range(200):
        arch = space.sample(rng)
        assert ResNetArch.from_str(str(arch)) == arch
        assert space.parse(str(arch)) == arch


def test_format_example() -> None:
    arch = ResNetArch(
        224,
        ResNetStem(2, 0.65, 1),
        (ResNetStage(0.8, (0.2, 0.35)), ResNetStage(1.0, (0.25,))),
    )
    assert str(arch) == "r224-s2m0.65w1.0-w0.8:e0.2_e0.35-w1.0:e0.25"
    assert format_decimal(1e-05) == "0.00001" and format_decimal(2) == "2.0"


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("", 0, "'r'"),
        ("r224", 4, "'-'"),
        ("r224-", 5, "'s'"),
        ("r224-s3", 7, "'m'"),
        ("r224-s3m1", 9, "'.' and the fraction of a decimal number \\(stem mid width"),
        ("r224-s3m1.", 10, "the digits after '.' \\(stem mid width multiplier\\)"),
        ("r224-s3m1.0", 11, "'w'"),
        ("r224-s3m1.0w1.0", 15, "'-' and a stage"),
        ("r224-s3m1.0w1.0-", 16, "'w'"),
        ("r224-s3m1.0w1.0-w1.0", 20, "':'"),
        ("r224-s3m1.0w1.0-w1.0:", 21, "'e'"),
        ("r224-s3m1.0w1.0-w1.0:e.2", 22, "a number \\(expand ratio\\)"),
        ("r224-s3m1.0w1.0-w1.0:e0.2_", 26, "'e'"),
        ("r224-s3m1.0w1.0-w1.0:e0.2x", 25, "'-', '_' or the end"),
        ("r224-s3m01.0w1.0-w1.0:e0.2", 8, "a number without leading zeros"),
    ],
)
def test_malformed_strings_name_the_position(text: str, position: int, expected: str) -> None:
    with pytest.raises(CodecError, match=f"at position {position} expected {expected}"):
        ResNetArch.from_str(text)


def test_non_string() -> None:
    with pytest.raises(CodecError, match="is a str"):
        ResNetArch.from_str(224)  # type: ignore[arg-type]
