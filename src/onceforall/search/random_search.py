"""Random search, the baseline: the best predicted of `samples` random sub-networks per budget.

With the default 50,100 samples it scores as many sub-networks as the evolutionary search with its
default settings (100 + 500 generations x 100 children), so the two compare at equal cost.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from tqdm import tqdm

from onceforall.errors import SearchError
from onceforall.search.constraints import Budget
from onceforall.search.problem import PredictionCache, SearchProblem
from onceforall.search.results import SearchResult, result_from_row
from onceforall.search.sampling import sample_within


def random_search(
    problem: SearchProblem,
    budgets: Sequence[Budget],
    samples: int = 50_100,
    *,
    seed: int = 0,
    batch: int = 5_000,
    progress: bool = False,
) -> list[SearchResult]:
    """Per budget, `samples` uniform sub-networks within it; the best predicted one."""
    budgets = list(budgets)
    if not budgets:
        raise SearchError("no budget given")
    if samples < 1:
        raise SearchError(f"samples must be at least 1, got {samples}")
    problem.check_feasible(budgets)
    scorer = PredictionCache(problem)
    results = []
    for budget in tqdm(budgets, desc="random search", disable=not progress):
        check = problem.check(budget)
        rng = np.random.default_rng([seed, 1])
        best_row, best_score = None, -np.inf
        for start in range(0, samples, batch):
            rows = sample_within(problem.operators, check, min(batch, samples - start), rng)
            scores = scorer(rows)
            top = int(np.argmax(scores))
            if scores[top] > best_score:
                best_row, best_score = rows[top], float(scores[top])
        assert best_row is not None
        results.append(
            result_from_row(problem, budget, best_row, best_score, evaluated=scorer.evaluated)
        )
    return results
