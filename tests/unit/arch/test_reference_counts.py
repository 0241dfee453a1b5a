"""Our analytic counts against the golden file of the reference's count_net_flops/count_parameters
(tests/golden/reference_counts.json, written by tests/golden/make_reference_counts.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from onceforall.models.registry import supernet_space

GOLDEN = Path(__file__).parents[2] / "golden" / "reference_counts.json"
ROWS: list[dict[str, Any]] = json.loads(GOLDEN.read_text())["counts"]


def test_every_reference_family_is_covered() -> None:
    assert {row["supernet"] for row in ROWS} == {
        "ofa_mbv3_w10",
        "ofa_mbv3_w12",
        "ofa_proxyless_w13",
        "ofa_resnet50",
    }
    assert {(row["which"], row["resolution"]) for row in ROWS} == {
        (which, r) for which in ("max", "min") for r in (224, 160)
    }


@pytest.mark.parametrize(
    "row", ROWS, ids=lambda r: f"{r['supernet']}-{r['which']}-{r['resolution']}"
)
def test_counts_equal_the_reference(row: dict[str, Any]) -> None:
    space = supernet_space(row["supernet"], 1000)
    arch = space.parse(row["arch"])
    largest_or_smallest = space.max() if row["which"] == "max" else space.min()
    assert arch == replace(largest_or_smallest, resolution=row["resolution"])
    assert space.from_reference_dict(row["reference_dict"]) == arch
    # ours are exact integers; the reference accumulates in float32 (a few hundred MACs apart
    # on billions)
    assert abs(space.macs(arch) - row["macs"]) <= 1e-6 * row["macs"]
    assert space.params(arch) == row["params"]
