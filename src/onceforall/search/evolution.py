"""The paper's evolutionary search, on population matrices, for several budgets at once.

Per budget (defaults are the paper's and the reference's): a population of 100 sub-networks that
meet the budget; each generation keeps the best 25% as parents and adds 50% mutants (each gene
resampled with probability 0.1, the resolution with 0.5) of random parents and 50% crossovers of
random parent pairs; 500 generations. A child that breaks the budget is bred again from the same
parents (as the reference does), several candidates per batched round, for at most `max_retries`
rounds, then replaced by a copy of a parent (within the budget), so a generation always ends.
Budgets are searched in lockstep and their children scored in one batched predictor call, each
distinct sub-network once; each budget draws from its own generator seeded by `seed` alone, so its
result does not depend on the other budgets in the call (up to float rounding in the batches).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from tqdm import tqdm

from onceforall.errors import SearchError
from onceforall.search.configs import EvolutionConfig
from onceforall.search.constraints import Budget
from onceforall.search.problem import PredictionCache, SearchProblem
from onceforall.search.results import SearchResult, result_from_row
from onceforall.search.sampling import sample_within


class _BudgetEvolution:
    """The state of one budget's search: its population, scores and generator."""

    def __init__(
        self,
        problem: SearchProblem,
        budget: Budget,
        config: EvolutionConfig,
        seed: int,
    ) -> None:
        self.problem = problem
        self.budget = budget
        self.config = config
        self.check = problem.check(budget)
        self.rng = np.random.default_rng([seed, 0])
        self.population = sample_within(
            problem.operators, self.check, config.population_size, self.rng, config.max_retries
        )
        self.scores = np.zeros(0)
        self.best_per_generation: list[float] = []
        self._mutation_prob = problem.operators.mutation_prob(
            config.mutation_prob, config.resolution_mutation_prob
        )
        self.tried = 0  # bred candidates, and those within the budget: sets the batch size
        self.fitted = 0

    def select_and_breed(self) -> np.ndarray:
        """Keep the best parents; return the children (all within the budget)."""
        config = self.config
        order = np.argsort(-self.scores, kind="stable")[: config.parents]
        self.population, self.scores = self.population[order], self.scores[order]
        self.best_per_generation.append(float(self.scores[0]))
        size, mutants = config.population_size, config.mutants
        picks = self.rng.integers(config.parents, size=(size, 2))
        picks[:mutants, 1] = picks[:mutants, 0]
        children = np.empty((size, self.problem.operators.width), dtype=np.int32)
        todo = np.arange(size)
        for attempt in range(config.max_retries):
            # `copies` candidates per child in one batch; the first that fits is the child
            copies = self._copies(attempt)
            candidates = self._breed(picks[todo], int(np.sum(todo < mutants)), copies)
            ok = self.check.within(candidates)
            self.tried += len(ok)
            self.fitted += int(ok.sum())
            ok = ok.reshape(len(todo), copies)
            found = ok.any(axis=1)
            first = ok.argmax(axis=1)
            children[todo[found]] = candidates.reshape(len(todo), copies, -1)[found, first[found]]
            todo = todo[~found]
            if len(todo) == 0:
                return children
        children[todo] = self.population[picks[todo, 0]]  # parents meet the budget
        return children

    def _copies(self, attempt: int) -> int:
        """Candidates per child: one in the first round while most fit (fewest rows to breed);
        in later rounds, for the few children left, enough that 1 in 1000 needs yet another."""
        rate = (self.fitted + 1) / (self.tried + 2)
        if rate >= 0.999 or (attempt == 0 and rate >= 0.5):
            return 1
        target = 0.5 if attempt == 0 else 0.001
        return min(16, math.ceil(math.log(target) / math.log1p(-rate)))

    def _breed(self, picks: np.ndarray, mutants: int, copies: int) -> np.ndarray:
        """Children of parent pairs `picks`: the first `mutants` rows mutants, the rest crossovers.

        A mutant is a mix with a random individual (each gene taken from it with the mutation
        probability), a crossover a mix of two parents (each gene from either with 1/2): one call.
        """
        operators = self.problem.operators
        if copies > 1:
            picks = np.repeat(picks, copies, axis=0)
            mutants *= copies
        first, second = self.population[picks[:, 0]], self.population[picks[:, 1]]
        second[:mutants] = operators.random_genes(mutants, self.rng)
        chance = np.empty(first.shape)
        chance[:mutants] = self._mutation_prob
        chance[mutants:] = 0.5
        return operators.mix(first, second, chance, self.rng)

    def add(self, children: np.ndarray, scores: np.ndarray) -> None:
        self.population = np.concatenate([self.population, children])
        self.scores = np.concatenate([self.scores, scores])

    def result(self, evaluated: int) -> SearchResult:
        best = int(np.argmax(self.scores))
        return result_from_row(
            self.problem,
            self.budget,
            self.population[best],
            float(self.scores[best]),
            history=tuple(self.best_per_generation),
            evaluated=evaluated,
        )


def evolution_search(
    problem: SearchProblem,
    budgets: Sequence[Budget],
    config: EvolutionConfig = EvolutionConfig(),
    *,
    seed: int = 0,
    progress: bool = False,
) -> list[SearchResult]:
    """The sub-network of highest predicted accuracy within each budget (one result per budget).

    SearchError at once when no sub-network can meet a budget.
    """
    budgets = list(budgets)
    if not budgets:
        raise SearchError("no budget given")
    problem.check_feasible(budgets)
    scorer = PredictionCache(problem)
    searches = [_BudgetEvolution(problem, budget, config, seed) for budget in budgets]
    _score([s.population for s in searches], searches, scorer, replace=True)
    for _ in tqdm(range(config.generations), desc="evolution", disable=not progress):
        children = [search.select_and_breed() for search in searches]
        _score(children, searches, scorer, replace=False)
    return [search.result(scorer.evaluated) for search in searches]


def _score(
    populations: list[np.ndarray],
    searches: list[_BudgetEvolution],
    scorer: PredictionCache,
    *,
    replace: bool,
) -> None:
    """One predictor call for every budget's rows."""
    scores = scorer(np.concatenate(populations))
    bounds = np.cumsum([0] + [len(p) for p in populations])
    for search, rows, start, stop in zip(searches, populations, bounds, bounds[1:], strict=False):
        if replace:
            search.population, search.scores = rows, scores[start:stop]
        else:
            search.add(rows, scores[start:stop])
