"""Population matrices written once for every family: columns grouped by what they choose.

A family describes its genes as consecutive `GeneGroup`s (the resolution, per-stage depths and
widths, per-block-slot kernel sizes or expand ratios, ...) and says which block slots run for a
row (`active_slots`). `GeneticOperators` then provide sampling, mutation, crossover, shrinking and
polynomial mutation on integer matrices, vectorized, with the genes of inactive slots zero so that
a row is canonical; `GenomeSpace` is a Space whose population operations are these operators.

Genes are choice *values* (ratios in thousandths), not indices, so rows stay meaningful in
restricted spaces.

Two sources of uniform genes draw from the same distribution with different calls: the space's
own (`Genome.random_genes`, one `rng.choice` per gene group, so a seed gives the sub-networks it
always gave: training, accuracy datasets) and the search's (`GeneticOperators.random_genes`, one
`rng.random` call; search spends most of its time here and in the predictor).
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Literal, TypeVar

import numpy as np

from onceforall.arch.space import Population, Space
from onceforall.errors import ArchError

ArchT = TypeVar("ArchT")

GeneKind = Literal["resolution", "choice", "slot"]


@dataclass(frozen=True)
class GeneGroup:
    """`columns` consecutive genes drawing from the same `choices`.

    kind: "resolution" (mutated with its own probability), "choice" (always active), or "slot"
    (one gene per block slot, zero when the slot does not run).
    """

    name: str
    choices: tuple[int, ...]
    columns: int = 1
    kind: GeneKind = "choice"


@dataclass(frozen=True)
class Genome:
    """The gene groups of a family, in column order.

    `draw_first`: groups whose random draws come before the others' (in that order); it only fixes
    which samples a seed gives, so that a family keeps its samples when its columns are reordered.
    """

    groups: tuple[GeneGroup, ...]
    draw_first: tuple[str, ...] = ()

    @cached_property
    def slices(self) -> dict[str, slice]:
        result: dict[str, slice] = {}
        start = 0
        for group in self.groups:
            if group.name in result:
                raise ArchError(f"duplicate gene group {group.name!r}")
            result[group.name] = slice(start, start + group.columns)
            start += group.columns
        return result

    @property
    def width(self) -> int:
        return sum(group.columns for group in self.groups)

    def slot_groups(self) -> tuple[GeneGroup, ...]:
        return tuple(group for group in self.groups if group.kind == "slot")

    def random_genes(self, n: int, rng: np.random.Generator) -> Population:
        """Uniform choices for every gene, active or not (not canonical)."""
        order = [g for name in self.draw_first for g in self.groups if g.name == name]
        order += [g for g in self.groups if g.name not in self.draw_first]
        drawn = {g.name: rng.choice(g.choices, size=(n, g.columns)) for g in order}
        parts = [drawn[group.name] for group in self.groups]
        return np.concatenate(parts, axis=1).astype(np.int32).reshape(n, self.width)

    def mutation_chance(self, prob: float, resolution_prob: float) -> np.ndarray:
        return np.concatenate(
            [
                np.full(group.columns, resolution_prob if group.kind == "resolution" else prob)
                for group in self.groups
            ]
        )


class GenomeSpace(Space[ArchT]):
    """The population operations of a Space whose genes are described by a `Genome`."""

    @property
    @abstractmethod
    def genome(self) -> Genome: ...

    @property
    def population_width(self) -> int:
        return self.genome.width

    @cached_property
    def operators(self) -> GeneticOperators:
        return GeneticOperators(self)

    def canonicalize(self, population: Population) -> Population:
        """Zero the genes of inactive slots, so equal networks have equal rows."""
        return self.operators.canonical(np.array(population, dtype=np.int32, copy=True))

    def zero_inactive(self, genes: Population) -> Population:
        """Zero, in place, the genes that do not count for a row: by default the slot groups'
        genes of the slots that do not run (`active_slots`). A family whose genes are owned
        otherwise (an elastified network: one owner per gene) overrides this."""
        active = self.active_slots(genes)
        for group in self.genome.slot_groups():
            genes[:, self.genome.slices[group.name]] *= active
        return genes

    def sample_population(self, n: int, rng: np.random.Generator) -> Population:
        return self.operators.canonical(self.genome.random_genes(n, rng))

    def mutate_population(
        self,
        population: Population,
        rng: np.random.Generator,
        prob: float = 0.1,
        resolution_prob: float = 0.5,
    ) -> Population:
        population = np.asarray(population, dtype=np.int32)
        fresh = self.genome.random_genes(len(population), rng)
        chance = self.genome.mutation_chance(prob, resolution_prob)
        return self.operators.mix(population, fresh, chance, rng)

    def crossover_population(
        self, first: Population, second: Population, rng: np.random.Generator
    ) -> Population:
        first = np.asarray(first, dtype=np.int32)
        second = np.asarray(second, dtype=np.int32)
        # each gene from `first` with probability 1/2 (the draw decides for `first`)
        return self.operators.mix(second, first, 0.5, rng)

    def contains_population(self, population: Population) -> np.ndarray:
        population = np.asarray(population)
        if population.ndim != 2 or population.shape[1] != self.population_width:
            return np.zeros(len(population), dtype=bool)
        ok = np.ones(len(population), dtype=bool)
        active = self.active_slots(population)
        for group in self.genome.groups:
            genes = population[:, self.genome.slices[group.name]]
            member = np.isin(genes, group.choices)
            if group.kind == "slot":
                member = np.where(active, member, genes == 0)
            ok &= np.all(member, axis=1)
        return ok


@dataclass(frozen=True, eq=False)
class GeneticOperators:
    """Sampling, mutation, crossover and shrinking over `space`'s population matrix."""

    space: GenomeSpace[Any]
    choices: np.ndarray = field(init=False)  # (width, most choices) int32, rows padded
    counts: np.ndarray = field(init=False)  # (width,) number of choices per column
    smallest: np.ndarray = field(init=False)  # (width,) the smallest choice of every column
    flat: np.ndarray = field(init=False)  # `choices` flattened, and where each column starts
    starts: np.ndarray = field(init=False)
    index_of: np.ndarray = field(init=False)  # (width, largest value + 1): value -> choice index

    def __post_init__(self) -> None:
        genome = self.space.genome
        columns = [group.choices for group in genome.groups for _ in range(group.columns)]
        most = max(len(c) for c in columns)
        table = np.array([list(c) + [c[-1]] * (most - len(c)) for c in columns], dtype=np.int32)
        object.__setattr__(self, "choices", table)
        object.__setattr__(self, "counts", np.array([len(c) for c in columns], dtype=np.int64))
        object.__setattr__(self, "smallest", table[:, 0].copy())
        object.__setattr__(self, "flat", table.ravel())
        object.__setattr__(self, "starts", np.arange(len(columns)) * most)
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
        return self.space.zero_inactive(genes)

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


def check_population(space: Space[Any], population: np.ndarray) -> np.ndarray:
    """`population` as an array, or ArchError if it does not have the space's columns."""
    population = np.asarray(population)
    if population.ndim != 2 or population.shape[1] != space.population_width:
        raise ArchError(
            f"a population of this space has {space.population_width} columns, "
            f"got shape {population.shape}"
        )
    return population


def choice_index(
    genes: np.ndarray, choices: tuple[int, ...], active: np.ndarray, name: str
) -> np.ndarray:
    """Index of each active gene in `choices` (0 for inactive genes); ArchError if not a choice."""
    lookup = _choice_lookup(choices)
    if genes.size and (genes.min() < 0 or genes.max() >= len(lookup)):
        genes_in = np.where((genes >= 0) & (genes < len(lookup)), genes, 0)
        index = np.where(genes_in == genes, lookup[genes_in], -1)
    else:
        index = lookup[genes]
    bad = active & (index < 0)
    if bad.any():
        row, slot = np.argwhere(bad)[0]
        raise ArchError(f"row {row} slot {slot}: {name}={genes[row, slot]} not in {choices}")
    return np.where(active, index, 0)


@lru_cache(maxsize=256)
def _choice_lookup(choices: tuple[int, ...]) -> np.ndarray:
    """value -> index in `choices`, -1 for other values up to the largest choice (read-only)."""
    lookup = np.full(max(choices) + 1, -1, dtype=np.int64)
    lookup[list(choices)] = np.arange(len(choices))
    lookup.setflags(write=False)
    return lookup
