"""Deterministic, class-stratified held-out splits.

OFA holds out part of the training set to evaluate sub-networks (for the accuracy predictor and for
search) without touching the test set. Stratifying keeps every class's share the same in both parts,
so accuracy on a small held-out set is not skewed by an unlucky class mix.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

import numpy as np
import torch

from onceforall.data.seeding import Purpose, numpy_stream
from onceforall.errors import DataError


class Splittable(Protocol):
    """What ``split_holdout`` needs: int64 labels and a way to take a subset by index."""

    @property
    def labels(self) -> torch.Tensor: ...

    def subset(self: _S, indices: np.ndarray) -> _S: ...


_S = TypeVar("_S", bound=Splittable)


def holdout_count(total: int, holdout: int | float) -> int:
    """How many items ``holdout`` means: a count (int) or a fraction in [0, 1) (float)."""
    if isinstance(holdout, bool):
        raise DataError(f"holdout must be an int count or a float fraction, got {holdout!r}")
    if isinstance(holdout, float):
        if not 0.0 <= holdout < 1.0:
            raise DataError(f"a holdout fraction must be in [0, 1), got {holdout}")
        return round(total * holdout)
    if not 0 <= holdout < total:
        raise DataError(
            f"a holdout of {holdout} items needs 0 <= holdout < {total} (the data size)"
        )
    return holdout


def holdout_indices(
    labels: np.ndarray, holdout: int | float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(train, holdout) index arrays, each sorted, disjoint, covering ``range(len(labels))``.

    Each class gives ``count * share`` items, rounded by largest remainder so the total is exactly
    the requested count. Which items a class gives is a seeded permutation, the same for the same
    (labels, holdout, seed).
    """
    labels = np.asarray(labels)
    total = len(labels)
    wanted = holdout_count(total, holdout)
    classes, inverse, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    exact = sizes * wanted / total
    quota = np.floor(exact).astype(np.int64)
    # Largest remainder; ties go to the earlier class so the result does not depend on sort quirks.
    by_remainder = np.argsort(-(exact - quota), kind="stable")
    quota[by_remainder[: wanted - int(quota.sum())]] += 1
    rng = numpy_stream(seed, Purpose.HOLDOUT)
    chosen = [
        rng.permutation(np.flatnonzero(inverse == c))[: quota[c]] for c in range(len(classes))
    ]
    held = np.sort(np.concatenate([np.empty(0, np.int64), *chosen]))
    keep = np.setdiff1d(np.arange(total), held, assume_unique=True)
    return keep, held


def split_holdout(dataset: _S, holdout: int | float, seed: int) -> tuple[_S, _S]:
    """Split into (train, holdout) parts, stratified by class; see ``holdout_indices``.

    Works on any data set with ``labels`` and ``subset`` (``ImageDataset``, ``ImageFolder``); both
    parts keep the original order of their items.
    """
    keep, held = holdout_indices(dataset.labels.numpy(), holdout, seed)
    return dataset.subset(keep), dataset.subset(held)
