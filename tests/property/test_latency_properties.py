"""Hypothesis properties of latency operators and of vectorized latency prediction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from onceforall.arch.mbv3 import MBv3Space
from onceforall.families.mbv3_operators import (
    BlockOp,
    HeadOp,
    StemOp,
)
from onceforall.families.operators import operator_key
from onceforall.families.registry import operator_from_key
from onceforall.latency.load import load_latency_table
from onceforall.models.registry import supernet_space

NOTE10 = Path(__file__).resolve().parents[3] / "shared" / "reference-data" / "ofa" / "note10"
W12 = supernet_space("ofa_mbv3_w12", 1000)
assert isinstance(W12, MBv3Space)
NOTE10_MODEL = load_latency_table(NOTE10, W12) if NOTE10.is_dir() else None

sizes = st.integers(1, 512)
widths = st.integers(1, 4096)
activations = st.sampled_from(["relu", "relu6", "hswish"])
operators = st.one_of(
    st.builds(
        StemOp, sizes, widths, widths, st.sampled_from([1, 3, 5]), st.integers(1, 4), activations
    ),
    st.builds(
        BlockOp,
        sizes,
        widths,
        widths,
        widths,
        st.sampled_from([3, 5, 7]),
        st.integers(1, 2),
        st.booleans(),
        st.booleans(),
        st.booleans(),
        activations,
    ),
    st.builds(
        HeadOp, sizes, widths, st.integers(0, 4096), st.integers(0, 4096), widths, activations
    ),
)


@given(operators)
def test_operator_keys_round_trip(op: StemOp | BlockOp | HeadOp) -> None:
    assert operator_from_key(operator_key(op)) == op


@pytest.mark.skipif(NOTE10_MODEL is None, reason=f"no reference data at {NOTE10}")
@given(st.integers(0, 2**32 - 1), st.integers(1, 40))
def test_prediction_is_row_wise(seed: int, n: int) -> None:
    """Each row's prediction is independent of the others (order, duplicates, batch size)."""
    model = NOTE10_MODEL
    assert model is not None
    rng = np.random.default_rng(seed)
    population = model.space.sample_population(n, rng)
    predicted = model.predict_population(population)
    order = rng.permutation(n)
    assert np.array_equal(model.predict_population(population[order]), predicted[order])
    assert model.predict_population(population[:1])[0] == predicted[0]
    doubled = model.predict_population(np.concatenate([population, population]))
    assert np.array_equal(doubled, np.concatenate([predicted, predicted]))
