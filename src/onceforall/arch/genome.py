"""Population matrices written once for every family: columns grouped by what they choose.

A family describes its genes as consecutive `GeneGroup`s (the resolution, per-stage depths and
widths, per-block-slot kernel sizes or expand ratios, ...) and says which block slots run for a
row (`active_slots`). `GenomeSpace` then provides sampling, mutation, crossover and membership on
integer matrices, vectorized, with the genes of inactive slots zero so that a row is canonical.

Genes are choice *values* (ratios in thousandths), not indices, so rows stay meaningful in
restricted spaces.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from functools import cached_property
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

    @abstractmethod
    def active_slots(self, population: Population) -> np.ndarray:
        """Boolean (rows, slots): which block slots run."""

    @property
    def population_width(self) -> int:
        return self.genome.width

    def canonicalize(self, population: Population) -> Population:
        """Zero the genes of inactive slots, so equal networks have equal rows."""
        out = np.array(population, dtype=np.int32, copy=True)
        inactive = ~self.active_slots(out)
        for group in self.genome.slot_groups():
            genes = out[:, self.genome.slices[group.name]]  # a view into `out`
            genes[inactive] = 0
        return out

    def _fill_inactive_genes(self, population: Population, donor: Population) -> Population:
        """Give slots that became active (gene 0) the donor's gene, then canonicalize."""
        out = population.copy()
        for group in self.genome.slot_groups():
            cols = self.genome.slices[group.name]
            genes = out[:, cols]  # a view into `out`
            missing = genes == 0
            genes[missing] = donor[:, cols][missing]
        return self.canonicalize(out)

    def sample_population(self, n: int, rng: np.random.Generator) -> Population:
        return self.canonicalize(self.genome.random_genes(n, rng))

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
        mutate = rng.random(population.shape) < chance[None, :]
        return self._fill_inactive_genes(np.where(mutate, fresh, population), fresh)

    def crossover_population(
        self, first: Population, second: Population, rng: np.random.Generator
    ) -> Population:
        first = np.asarray(first, dtype=np.int32)
        second = np.asarray(second, dtype=np.int32)
        take_first = rng.random(first.shape) < 0.5
        child = np.where(take_first, first, second)
        # A slot active in the child but inactive in the parent it drew from: the other parent has
        # it active (the child's depth is one of the parents'), so it fills the gene.
        donor = np.where(take_first, second, first)
        return self._fill_inactive_genes(child, donor)

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
    lookup = np.full(max(max(choices), int(genes.max(initial=0))) + 1, -1, dtype=np.int64)
    lookup[list(choices)] = np.arange(len(choices))
    index = lookup[np.clip(genes, 0, None)]
    bad = active & ((index < 0) | (genes < 0))
    if bad.any():
        row, slot = np.argwhere(bad)[0]
        raise ArchError(f"row {row} slot {slot}: {name}={genes[row, slot]} not in {choices}")
    return np.where(active, index, 0)
