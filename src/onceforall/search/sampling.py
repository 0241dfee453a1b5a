"""Random sub-networks within a budget, in vectorized batches and a bounded number of rounds.

Uniform rows are drawn in batches and those within the budget kept. If a tight budget leaves rows
missing after `rounds` batches, the remaining rows are shrunk: genes move to their smallest choice
at random until the row fits. Costs are monotone, so shrinking ends at the latest at the smallest
sub-network, which `SearchProblem.check_feasible` has confirmed to fit: no loop is unbounded.
"""

from __future__ import annotations

import numpy as np

from onceforall.arch.genome import GeneticOperators
from onceforall.search.problem import BudgetCheck


def sample_within(
    operators: GeneticOperators,
    check: BudgetCheck,
    n: int,
    rng: np.random.Generator,
    rounds: int = 20,
) -> np.ndarray:
    """`n` rows within the budget (uniform rows while they fit often enough, then shrunk ones)."""
    kept = np.zeros((0, operators.width), dtype=np.int32)
    for _ in range(rounds):
        batch = operators.sample(max(2 * (n - len(kept)), 16), rng)
        kept = np.concatenate([kept, batch[check.within(batch)]])
        if len(kept) >= n:
            return kept[:n]
    rows = operators.sample(n - len(kept), rng)
    for _ in range(4 * operators.width):
        outside = ~check.within(rows)
        if not outside.any():
            break
        rows[outside] = operators.shrink(rows[outside], rng, 0.2)
    else:
        outside = ~check.within(rows)
        rows[outside] = operators.canonical(np.tile(operators.smallest, (int(outside.sum()), 1)))
    return np.concatenate([kept, rows])
