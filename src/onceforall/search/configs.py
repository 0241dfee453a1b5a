"""Settings of the evolutionary and the Pareto search (torch-free, so the CLI parses fast)."""

from __future__ import annotations

from dataclasses import dataclass

from onceforall.errors import SearchError
from onceforall.memory_budget import SEARCH_ROW_BYTES, check_fits_in_memory


@dataclass(frozen=True)
class EvolutionConfig:
    population_size: int = 100  # per island
    generations: int = 40  # per island
    parent_ratio: float = 0.25
    mutation_ratio: float = 0.5
    mutation_prob: float = 0.1
    resolution_mutation_prob: float = 0.5
    max_retries: int = 20
    islands: int = 5  # independent populations per budget (the paper: 1 of 500 generations)
    polish_rounds: int = 50  # hill-climbing moves from the best found (0: none)

    def __post_init__(self) -> None:
        if self.population_size < 2 or self.generations < 0 or self.max_retries < 1:
            raise SearchError("population_size >= 2, generations >= 0 and max_retries >= 1")
        if self.islands < 1 or self.polish_rounds < 0:
            raise SearchError("islands >= 1 and polish_rounds >= 0")
        check_fits_in_memory("population_size", self.population_size, SEARCH_ROW_BYTES, SearchError)
        check_fits_in_memory(
            "islands x population_size",
            self.islands * self.population_size,
            SEARCH_ROW_BYTES,
            SearchError,
        )
        for name in ("parent_ratio", "mutation_ratio", "mutation_prob", "resolution_mutation_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise SearchError(f"{name} must be within [0, 1], got {getattr(self, name)}")
        if self.parents < 1:
            raise SearchError("parent_ratio keeps no parent of the population")

    @property
    def parents(self) -> int:
        return round(self.parent_ratio * self.population_size)

    @property
    def mutants(self) -> int:
        return round(self.mutation_ratio * self.population_size)


@dataclass(frozen=True)
class ParetoConfig:
    population_size: int = 100
    generations: int = 200
    mutation_prob: float | None = None  # per gene; None: 1 / number of genes
    mutation_eta: float = 3.0  # polynomial mutation: larger keeps mutations nearer
    max_retries: int = 20

    def __post_init__(self) -> None:
        if self.population_size < 4 or self.generations < 0 or self.max_retries < 1:
            raise SearchError("population_size >= 4, generations >= 0 and max_retries >= 1")
        check_fits_in_memory("population_size", self.population_size, SEARCH_ROW_BYTES, SearchError)
        if self.mutation_prob is not None and not 0.0 <= self.mutation_prob <= 1.0:
            raise SearchError(f"mutation_prob must be within [0, 1], got {self.mutation_prob}")
        if self.mutation_eta <= 0:
            raise SearchError(f"mutation_eta must be positive, got {self.mutation_eta}")
