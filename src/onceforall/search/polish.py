"""A local-search polish of a search's best row on the predictor (hill climbing).

Evolution finds a good region; the last fraction of a point of predicted accuracy is often one or
two genes away. `polish` climbs from a row: each round scores every row one gene away (each active
gene set to each of its other choices; slots a deeper stage turns on take their smallest choice)
that meets the budget, and moves to the best if it beats the current score. When no single change
helps, it tries the pairs of a change that breaks the budget with one that fits (a row at the
budget's edge trades cost between blocks this way; two changes that each fit and each score
lower are not tried together); a better pair continues the climb. Every candidate
goes through the search's `PredictionCache`, so rows seen before cost nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from onceforall.arch.genome import GeneticOperators

Scorer = Callable[[np.ndarray], np.ndarray]
Within = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Polished:
    row: np.ndarray
    score: float
    rounds: int  # moves made


def single_changes(operators: GeneticOperators, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(columns, values): every other choice of every active gene of `row`."""
    active = np.flatnonzero(row != 0)
    most = operators.choices.shape[1]
    columns = np.repeat(active, most)
    values = operators.choices[active].ravel()
    real = np.tile(np.arange(most), len(active)) < np.repeat(operators.counts[active], most)
    keep = real & (values != row[columns])
    return columns[keep], values[keep]


def apply_changes(
    operators: GeneticOperators, row: np.ndarray, columns: np.ndarray, values: np.ndarray
) -> np.ndarray:
    """Rows of `row` with `values` written at `columns` (one change per row, or several given as
    (rows, k) arrays), canonical; newly active slots take their smallest choice."""
    columns = columns.reshape(len(columns), -1) if columns.size else columns.reshape(0, 1)
    values = values.reshape(columns.shape)
    rows = np.repeat(row[None, :], len(columns), axis=0)
    rows[np.arange(len(rows))[:, None], columns] = values
    rows = np.where(rows == 0, operators.smallest, rows).astype(np.int32)
    return operators.canonical(rows)


def pair_changes(
    columns: np.ndarray, values: np.ndarray, fits: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of a single change that does not fit (`~fits`) with one that does, on two
    different genes, as (pairs, 2) arrays."""
    grid = np.meshgrid(np.flatnonzero(~fits), np.flatnonzero(fits), indexing="ij")
    first, second = grid[0].ravel(), grid[1].ravel()
    different = columns[first] != columns[second]
    first, second = first[different], second[different]
    return (
        np.stack([columns[first], columns[second]], axis=1),
        np.stack([values[first], values[second]], axis=1),
    )


def polish(
    operators: GeneticOperators,
    row: np.ndarray,
    score: float,
    within: Within,
    scorer: Scorer,
    max_rounds: int,
) -> Polished:
    """Climb from `row` (which meets the budget) for at most `max_rounds` moves."""
    row = np.asarray(row, dtype=np.int32)
    moves = 0
    while moves < max_rounds:
        columns, values = single_changes(operators, row)
        singles = apply_changes(operators, row, columns, values)
        fits = within(singles)
        best = _best_candidate(singles[fits], scorer)
        if best is None or best[1] <= score:
            pairs = apply_changes(operators, row, *pair_changes(columns, values, fits))
            best = _best_candidate(pairs[within(pairs)], scorer)
            if best is None or best[1] <= score:
                break
        row, score = best
        moves += 1
    return Polished(row, score, moves)


def _best_candidate(fits: np.ndarray, scorer: Scorer) -> tuple[np.ndarray, float] | None:
    if len(fits) == 0:
        return None
    scores = scorer(fits)
    best = int(np.argmax(scores))
    return fits[best], float(scores[best])
