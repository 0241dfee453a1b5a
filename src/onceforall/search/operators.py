"""Genetic operators for search, on a space's population matrix, in a handful of numpy calls each.

They draw from the same distributions as the space's own `sample_population` /
`mutate_population` / `crossover_population` (arch/genome.py: every gene uniform over its
choices; a slot that a depth change makes active gets a fresh gene under mutation, the other
parent's gene under crossover; genes of inactive slots are 0, so rows stay canonical), but from a
padded table of every column's choices: one `rng.random` call replaces a `rng.choice` per gene
group. Search spends most of its time here and in the predictor, so microseconds per call count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from onceforall.arch.genome import GenomeSpace


@dataclass(frozen=True, eq=False)
class GeneticOperators:
    """Sampling, mutation, crossover and shrinking over `space`'s population matrix."""

    space: GenomeSpace[Any]
    choices: np.ndarray = field(init=False)  # (width, most choices) int32, rows padded
    counts: np.ndarray = field(init=False)  # (width,) number of choices per column
    smallest: np.ndarray = field(init=False)  # (width,) the smallest choice of every column
    flat: np.ndarray = field(init=False)  # `choices` flattened, and where each column starts
    starts: np.ndarray = field(init=False)
    slot_columns: tuple[slice, ...] = field(init=False)  # the per-slot gene groups
    index_of: np.ndarray = field(init=False)  # (width, largest value + 1): value -> choice index

    def __post_init__(self) -> None:
        genome = self.space.genome
        columns = [group.choices for group in genome.groups for _ in range(group.columns)]
        most = max(len(c) for c in columns)
        table = np.array([list(c) + [c[-1]] * (most - len(c)) for c in columns], dtype=np.int32)
        slots = tuple(genome.slices[group.name] for group in genome.slot_groups())
        object.__setattr__(self, "choices", table)
        object.__setattr__(self, "counts", np.array([len(c) for c in columns], dtype=np.int64))
        object.__setattr__(self, "smallest", table[:, 0].copy())
        object.__setattr__(self, "flat", table.ravel())
        object.__setattr__(self, "starts", np.arange(len(columns)) * most)
        object.__setattr__(self, "slot_columns", slots)
        index_of = np.zeros((len(columns), int(table.max()) + 1), dtype=np.intp)
        for column, choices in enumerate(columns):
            index_of[column, list(choices)] = np.arange(len(choices))
        object.__setattr__(self, "index_of", index_of)

    @property
    def width(self) -> int:
        return len(self.counts)

    def random_genes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Uniform choices for every gene, active or not (not canonical)."""
        index = (rng.random((n, self.width)) * self.counts).astype(np.intp)
        index += self.starts
        return self.flat[index]

    def canonical(self, genes: np.ndarray) -> np.ndarray:
        """Zero the genes of the slots that do not run (in place)."""
        active = self.space.active_slots(genes)
        for columns in self.slot_columns:
            genes[:, columns] *= active
        return genes

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.canonical(self.random_genes(n, rng))

    def mix(
        self,
        first: np.ndarray,
        second: np.ndarray,
        second_prob: np.ndarray | float,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Each gene from `second` with probability `second_prob` (broadcast), else from `first`.

        A slot that the child's depth makes active but whose gene came from a parent without it
        (a 0) takes the other parent's gene; the child's depth is a parent's, so that one has it.
        """
        take_second = rng.random(first.shape) < second_prob
        child = np.where(take_second, second, first)
        donor = np.where(take_second, first, second)
        return self.canonical(np.where(child == 0, donor, child))

    def mutation_prob(self, prob: float, resolution_prob: float) -> np.ndarray:
        """Per-column resampling probability (`resolution_prob` for the resolution)."""
        return self.space.genome.mutation_chance(prob, resolution_prob)

    def mutate(
        self,
        population: np.ndarray,
        rng: np.random.Generator,
        prob: float,
        resolution_prob: float,
    ) -> np.ndarray:
        """Resample each gene with probability `prob` (the resolution with `resolution_prob`).

        A mix with a uniformly random individual: slots that become active get its fresh genes.
        """
        fresh = self.random_genes(len(population), rng)
        return self.mix(population, fresh, self.mutation_prob(prob, resolution_prob), rng)

    def crossover(
        self, first: np.ndarray, second: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Each gene from either parent with probability 1/2."""
        return self.mix(first, second, 0.5, rng)

    def polynomial_mutate(
        self, population: np.ndarray, rng: np.random.Generator, prob: float, eta: float
    ) -> np.ndarray:
        """Polynomial mutation (Deb and Agrawal) of each gene's choice index, with probability
        `prob` per gene: choices are ordered (kernel, expand ratio, depth, resolution), so a
        mutation moves to a nearby choice more often than to a far one (`eta`: larger, nearer).
        Slots that become active take a uniformly random gene."""
        genes = np.where(population == 0, self.smallest, population)
        index = self.index_of[np.arange(self.width), genes].astype(float)
        span = (self.counts - 1).astype(float)
        scaled = index / np.maximum(span, 1.0)
        u = rng.random(index.shape)
        power = 1.0 / (eta + 1.0)
        down = (2 * u + (1 - 2 * u) * (1 - scaled) ** (eta + 1)) ** power - 1
        up = 1 - (2 * (1 - u) + 2 * (u - 0.5) * scaled ** (eta + 1)) ** power
        moved = np.clip(np.rint(index + np.where(u <= 0.5, down, up) * span), 0, span)
        mutate = rng.random(index.shape) < prob
        chosen = self.flat[np.where(mutate, moved, index).astype(np.intp) + self.starts]
        chosen = np.where((population == 0) & ~mutate, 0, chosen)
        fresh = self.random_genes(len(population), rng)
        return self.canonical(np.where(chosen == 0, fresh, chosen))

    def shrink(self, population: np.ndarray, rng: np.random.Generator, prob: float) -> np.ndarray:
        """Set each gene to its smallest choice with probability `prob` (costs never grow)."""
        genes = np.where(rng.random(population.shape) < prob, self.smallest, population)
        return self.canonical(np.where(genes == 0, self.smallest, genes))
