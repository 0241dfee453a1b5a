"""The Space abstraction: a set of sub-network choices, with a vectorized population form.

Every family implements the integer population matrix (one row per sub-network, one column per
gene, inactive genes zero so that a row is canonical) and gets the per-Arch operations from it, so
sampling, mutation and crossover are written once and search never has to touch Arch objects.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Generic, Literal, TypeVar

import numpy as np

from onceforall.arch.slot_table import ResolutionTable, SlotIndex
from onceforall.errors import ArchError
from onceforall.memory_budget import ARCH_BYTES, check_fits_in_memory

ArchT = TypeVar("ArchT")

SpaceT = TypeVar("SpaceT", bound="Space[Any]")

Population = np.ndarray  # int32 matrix, shape (n, space.population_width)


class Space(ABC, Generic[ArchT]):
    """A search space whose points are immutable `ArchT` values."""

    resolutions: tuple[int, ...]  # input resolutions of the space (every family has them)
    layout: Any  # what the choices apply to: the fixed rows of the network (a frozen value)

    # --- population form (implemented per family) ---------------------------------------------

    @property
    @abstractmethod
    def population_width(self) -> int:
        """Number of integer genes per sub-network."""

    @abstractmethod
    def to_population(self, archs: Iterable[ArchT]) -> Population: ...

    @abstractmethod
    def from_population(self, population: Population) -> list[ArchT]: ...

    @abstractmethod
    def sample_population(self, n: int, rng: np.random.Generator) -> Population:
        """`n` rows sampled gene by gene (each choice uniform), canonical."""

    @abstractmethod
    def mutate_population(
        self,
        population: Population,
        rng: np.random.Generator,
        prob: float = 0.1,
        resolution_prob: float = 0.5,
    ) -> Population:
        """Resample each gene with probability `prob` (the resolution with `resolution_prob`)."""

    @abstractmethod
    def crossover_population(
        self, first: Population, second: Population, rng: np.random.Generator
    ) -> Population:
        """Each gene of each child from either parent with probability 1/2."""

    @abstractmethod
    def contains_population(self, population: Population) -> np.ndarray:
        """Boolean mask: which rows are canonical points of this space."""

    @abstractmethod
    def active_slots(self, population: Population) -> np.ndarray:
        """Boolean (rows, slots): which block slots run."""

    @property
    @abstractmethod
    def slot_table_shape(self) -> tuple[int, ...]:
        """Shape of the `values` of this space's slot tables (arch/slot_table.py)."""

    @abstractmethod
    def slot_index(self, population: Population) -> SlotIndex:
        """Which slot-table entry each term of each row reads; ArchError for a bad row."""

    @abstractmethod
    def cost_table(self, resolution: int, what: Literal["macs", "params"]) -> ResolutionTable:
        """The slot table of MACs or parameters at `resolution` (what the counts sum)."""

    @abstractmethod
    def macs_population(self, population: Population) -> np.ndarray:
        """Multiply-accumulates per row (int64), as the reference's count_net_flops counts them."""

    @abstractmethod
    def params_population(self, population: Population) -> np.ndarray:
        """Parameter counts per row (int64) of the exported sub-network."""

    # --- per-Arch operations (implemented per family) -----------------------------------------

    @abstractmethod
    def validate(self, arch: ArchT, *, any_resolution: bool = False) -> None:
        """Raise ArchError naming the field, the value and the allowed values."""

    @abstractmethod
    def max(self) -> ArchT: ...

    @abstractmethod
    def min(self) -> ArchT: ...

    @abstractmethod
    def size(self, with_resolutions: bool = False) -> int:
        """Exact number of distinct sub-networks (times the resolutions if asked)."""

    @abstractmethod
    def parse(self, text: str) -> ArchT:
        """Arch from its compact string form; ArchError if it is not in this space."""

    @abstractmethod
    def arch_from_json(self, obj: dict[str, Any]) -> ArchT: ...

    @abstractmethod
    def from_reference_dict(self, ref: dict[str, Any], resolution: int | None = None) -> ArchT: ...

    @abstractmethod
    def to_reference_dict(self, arch: ArchT) -> dict[str, Any]: ...

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """The choices of the space, JSON-ready (what `ofa info` prints), and its num_classes."""

    # --- derived, shared by every family ------------------------------------------------------

    def contains(self, arch: object) -> bool:
        try:
            self.validate(arch)  # type: ignore[arg-type]
        except ArchError:
            return False
        return True

    def with_resolutions(self, resolutions: Iterable[int]) -> Space[ArchT]:
        """The same space with other input resolutions (any positive sizes: the networks are
        fully convolutional), e.g. to train an ImageNet layout on 32 px images."""
        chosen = choice_tuple(list(resolutions), "resolutions")
        return dataclasses.replace(self, resolutions=chosen)  # type: ignore[type-var]

    def restrict_choices(self: SpaceT, choices: Mapping[str, Iterable[Any]]) -> SpaceT:
        """A sub-space with fewer of the named choices (fields of the space, e.g.
        expand_ratios); ArchError if a choice is not in this space."""
        changes: dict[str, tuple[Any, ...]] = {}
        for name, values in choices.items():
            allowed = getattr(self, name)
            chosen = tuple(sorted({_like(value, allowed[0]) for value in values}))
            extra = sorted(set(chosen) - set(allowed))
            if extra or not chosen:
                raise ArchError(f"restrict: {name} {extra or '()'} not in {allowed}")
            changes[name] = chosen
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def sample(self, rng: np.random.Generator) -> ArchT:
        return self.from_population(self.sample_population(1, rng))[0]

    def sample_distinct(self, n: int, rng: np.random.Generator) -> list[ArchT]:
        """`n` distinct sub-networks (ArchError if the space has fewer)."""
        total = self.size(with_resolutions=True)
        if n > total:
            raise ArchError(f"cannot sample {n} distinct sub-networks from a space of {total}")
        check_fits_in_memory("sub-networks:", n, ARCH_BYTES, ArchError)
        rows = np.zeros((0, self.population_width), dtype=np.int32)
        while len(rows) < n:
            fresh = self.sample_population(max(2 * (n - len(rows)), 16), rng)
            rows = unique_rows(np.concatenate([rows, fresh]))
        return self.from_population(rows[:n])

    def mutate(
        self,
        arch: ArchT,
        rng: np.random.Generator,
        prob: float = 0.1,
        resolution_prob: float = 0.5,
    ) -> ArchT:
        self.validate(arch)
        row = self.to_population([arch])
        return self.from_population(self.mutate_population(row, rng, prob, resolution_prob))[0]

    def crossover(self, first: ArchT, second: ArchT, rng: np.random.Generator) -> ArchT:
        self.validate(first)
        self.validate(second)
        child = self.crossover_population(
            self.to_population([first]), self.to_population([second]), rng
        )
        return self.from_population(child)[0]

    def macs(self, arch: ArchT) -> int:
        self.validate(arch, any_resolution=True)
        return int(self.macs_population(self.to_population([arch]))[0])

    def params(self, arch: ArchT) -> int:
        self.validate(arch, any_resolution=True)
        return int(self.params_population(self.to_population([arch]))[0])


def _like(value: Any, example: Any) -> Any:
    """`value` as the type of the space's choices when that keeps it equal (5.0 -> 5 for integer
    choices, 1 -> 1.0 for ratios), else unchanged (and so not a choice)."""
    try:
        converted = type(example)(value)
    except (TypeError, ValueError):
        return value
    return converted if converted == value else value


def unique_rows(population: Population) -> Population:
    """Distinct rows in first-seen order (populations are canonical, so equal rows = equal nets)."""
    if len(population) == 0:
        return population
    _, first = np.unique(population, axis=0, return_index=True)
    return population[np.sort(first)]


def choice_tuple(values: Sequence[int], name: str) -> tuple[int, ...]:
    """Sorted, de-duplicated choices; ArchError when empty or not positive."""
    if any(int(v) != v for v in values):
        raise ArchError(f"{name}: choices must be integers, got {tuple(values)}")
    result = tuple(sorted(set(int(v) for v in values)))
    if not result:
        raise ArchError(f"{name}: at least one choice is needed")
    if result[0] <= 0:
        raise ArchError(f"{name}: choices must be positive, got {result}")
    return result
