"""Latency tables and predictors are checked when loaded: finite, non-negative, complete, ours."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from onceforall.arch.mbv3 import MBv3Space
from onceforall.errors import LatencyTableError, PredictorError
from onceforall.latency.load import load_latency_table
from onceforall.models.registry import supernet_space
from onceforall.predict.accuracy import load_predictor


def tiny_space() -> MBv3Space:
    space = supernet_space("test_mbv3_tiny")
    assert isinstance(space, MBv3Space)
    return space


def edited(table: Path, tmp_path: Path, edit: Any) -> Path:
    content = json.loads(table.read_text())
    edit(content)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(content))
    return path


def first_entry(content: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = next(iter(content["entries"].values()))
    return entry


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: first_entry(c).update(min_ms=-2.8), "times must be finite and >= 0"),
        (lambda c: first_entry(c).update(median_ms=float("nan")), "times must be finite"),
        (lambda c: first_entry(c).update(count=0), "count >= 1"),
        (lambda c: c["entries"].pop(next(iter(c["entries"]))), "incomplete for this space"),
        (lambda c: c["metadata"].update(supernet="ofa_mbv3_w12"), "not 'test_mbv3_tiny'"),
        (lambda c: c.update(correction={"offset_ms": "x", "scale": 1, "per_block_ms": 0}),
         "a latency correction holds numbers"),
    ],
)  # fmt: skip
def test_edited_latency_tables_are_refused(
    edit: Any, message: str, tiny_table: Path, tmp_path: Path
) -> None:
    assert (
        load_latency_table(tiny_table, tiny_space(), "test_mbv3_tiny").predict(
            tiny_space().restrict(resolutions=[16]).min()
        )
        > 0
    )
    with pytest.raises(LatencyTableError, match=message):
        load_latency_table(edited(tiny_table, tmp_path, edit), tiny_space(), "test_mbv3_tiny")


def test_a_predictor_with_weights_that_are_not_finite_is_refused(
    tiny_predictor: Path, tmp_path: Path
) -> None:
    payload = torch.load(tiny_predictor, weights_only=True)
    first = next(iter(payload["state_dict"]))
    payload["state_dict"][first][0, 0] = float("nan")
    broken = tmp_path / "broken.pt"
    torch.save(payload, broken)
    assert load_predictor(tiny_predictor).supernet == "test_mbv3_tiny"
    with pytest.raises(PredictorError, match=f"not finite numbers in \\['{first}'\\]"):
        load_predictor(broken)
