"""Stratified, deterministic held-out splits."""

from __future__ import annotations

import numpy as np
import pytest

from onceforall.data.holdout import holdout_count, holdout_indices, split_holdout
from onceforall.data.synthetic import make_synthetic
from onceforall.errors import DataError

# Uneven classes: 50, 30, 15, 5 items, shuffled.
LABELS = np.random.default_rng(7).permutation(np.repeat(np.arange(4), [50, 30, 15, 5]))


@pytest.mark.parametrize("holdout", [0, 1, 10, 33, 99, 0.0, 0.1, 0.25, 0.5])
def test_disjoint_complete_sorted_exact_size(holdout: int | float) -> None:
    keep, held = holdout_indices(LABELS, holdout, seed=3)
    assert len(held) == holdout_count(len(LABELS), holdout)
    assert np.array_equal(np.sort(np.concatenate([keep, held])), np.arange(len(LABELS)))
    assert np.all(np.diff(keep) > 0) and np.all(np.diff(held) > 0)


def test_stratified_by_class() -> None:
    _, held = holdout_indices(LABELS, 0.2, seed=0)
    assert np.bincount(LABELS[held], minlength=4).tolist() == [10, 6, 3, 1]
    _, held = holdout_indices(LABELS, 10, seed=0)  # exact shares 5, 3, 1.5, 0.5
    counts = np.bincount(LABELS[held], minlength=4)
    assert counts.sum() == 10 and counts[:2].tolist() == [5, 3]
    assert np.all(np.abs(counts - np.array([5, 3, 1.5, 0.5])) < 1)


def test_deterministic_per_seed() -> None:
    first = holdout_indices(LABELS, 0.3, seed=11)
    again = holdout_indices(LABELS, 0.3, seed=11)
    other = holdout_indices(LABELS, 0.3, seed=12)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[1], other[1])


@pytest.mark.parametrize("holdout", [-1, 100, 101, 1.0, -0.1, True])
def test_bad_holdout(holdout: int | float) -> None:
    with pytest.raises(DataError):
        holdout_indices(LABELS, holdout, seed=0)


def test_split_dataset_values() -> None:
    data = make_synthetic(num_classes=4, per_class=25, size=8)
    train, held = split_holdout(data, 0.2, seed=5)
    assert (len(train), len(held)) == (80, 20)
    assert np.bincount(held.labels.numpy()).tolist() == [5, 5, 5, 5]
    assert train.stats == data.stats and held.class_names == data.class_names
    keep, chosen = holdout_indices(data.labels.numpy(), 0.2, seed=5)
    assert held.images.equal(data.images[chosen]) and train.images.equal(data.images[keep])
