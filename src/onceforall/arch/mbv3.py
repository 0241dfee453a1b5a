"""MBv3Arch / MBv3Space: points and sets of MobileNet-style sub-networks (torch-free).

Also the type of OFA-ProxylessNAS sub-networks: both families are stages of inverted-residual
blocks whose kernel size and expand ratio are elastic, plus elastic depth and resolution.

An MBv3Arch is canonical: it stores only the blocks that run, so one network has one encoding.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np

from onceforall.arch.genome import GeneGroup, Genome, GenomeSpace, check_population, choice_index
from onceforall.arch.mbv3_costs import mbv3_cost_tables, mbv3_costs
from onceforall.arch.mbv3_layout import MBv3Layout
from onceforall.arch.slot_table import ResolutionTable, SlotIndex
from onceforall.arch.space import Population, choice_tuple
from onceforall.errors import ArchError


@dataclass(frozen=True)
class MBv3Block:
    kernel_size: int
    expand_ratio: int


@dataclass(frozen=True)
class MBv3Arch:
    """One sub-network: the input resolution and, per stage, the blocks that run."""

    resolution: int
    stages: tuple[tuple[MBv3Block, ...], ...]

    @property
    def depths(self) -> tuple[int, ...]:
        return tuple(len(stage) for stage in self.stages)

    def blocks(self) -> Iterator[MBv3Block]:
        for stage in self.stages:
            yield from stage

    @classmethod
    def from_lists(
        cls,
        resolution: int,
        kernel_sizes: Sequence[Sequence[int]],
        expand_ratios: Sequence[Sequence[int]],
    ) -> MBv3Arch:
        """From per-stage lists of kernel sizes and expand ratios (the depths are their lengths)."""
        if len(kernel_sizes) != len(expand_ratios):
            raise ArchError("kernel_sizes and expand_ratios must have one list per stage each")
        stages = []
        for index, (ks, es) in enumerate(zip(kernel_sizes, expand_ratios, strict=True)):
            if len(ks) != len(es):
                raise ArchError(
                    f"stage {index}: {len(ks)} kernel sizes but {len(es)} expand ratios"
                )
            stages.append(tuple(MBv3Block(int(k), int(e)) for k, e in zip(ks, es, strict=True)))
        return cls(int(resolution), tuple(stages))

    def to_json(self) -> dict[str, Any]:
        return {
            "resolution": self.resolution,
            "kernel_sizes": [[b.kernel_size for b in stage] for stage in self.stages],
            "expand_ratios": [[b.expand_ratio for b in stage] for stage in self.stages],
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> MBv3Arch:
        expected = {"resolution", "kernel_sizes", "expand_ratios"}
        if not isinstance(obj, dict) or set(obj) != expected:
            got = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
            raise ArchError(
                f"an MBv3 arch JSON object has exactly the keys {sorted(expected)}, got {got}"
            )
        if not _is_int(obj["resolution"]):
            raise ArchError(f"'resolution' must be an integer, got {obj['resolution']!r}")
        for name in ("kernel_sizes", "expand_ratios"):
            stages = obj[name]
            if not isinstance(stages, list) or not all(
                isinstance(stage, list) and all(_is_int(v) for v in stage) for stage in stages
            ):
                raise ArchError(f"{name!r} must be a list of lists of integers, got {stages!r}")
        return cls.from_lists(obj["resolution"], obj["kernel_sizes"], obj["expand_ratios"])

    def __str__(self) -> str:
        from onceforall.arch.codec import format_mbv3

        return format_mbv3(self)

    @classmethod
    def from_str(cls, text: str) -> MBv3Arch:
        from onceforall.arch.codec import parse_mbv3

        return parse_mbv3(text)

    def to_reference_dict(self, slots_per_stage: Sequence[int] | int = 4) -> dict[str, Any]:
        """The reference implementation's dict; see `MBv3Space.to_reference_dict`."""
        from onceforall.arch.reference import mbv3_to_reference_dict

        slots = (
            (slots_per_stage,) * len(self.stages)
            if isinstance(slots_per_stage, int)
            else tuple(slots_per_stage)
        )
        return mbv3_to_reference_dict(self, slots)


def _default_resolutions() -> tuple[int, ...]:
    return tuple(range(128, 225, 4))


@dataclass(frozen=True)
class MBv3Space(GenomeSpace[MBv3Arch]):
    """Kernel size x expand ratio per block, depth per stage, and the input resolution.

    Choices are the same for every block, as in the paper. A restricted space (for a progressive
    shrinking phase) keeps the layout and narrows the choices.
    """

    layout: MBv3Layout
    kernel_sizes: tuple[int, ...] = (3, 5, 7)
    expand_ratios: tuple[int, ...] = (3, 4, 6)
    depths: tuple[int, ...] = (2, 3, 4)
    resolutions: tuple[int, ...] = field(default_factory=_default_resolutions)

    def __post_init__(self) -> None:
        for name in ("kernel_sizes", "expand_ratios", "depths", "resolutions"):
            object.__setattr__(self, name, choice_tuple(getattr(self, name), name))
        for k in self.kernel_sizes:
            if k % 2 == 0:
                raise ArchError(f"kernel_sizes: kernel sizes must be odd, got {k}")
        for index in range(len(self.layout.stages)):
            if not self.stage_depths(index):
                raise ArchError(
                    f"depths {self.depths}: no choice fits stage {index} "
                    f"(max depth {self.layout.stages[index].max_depth})"
                )

    # --- choices -------------------------------------------------------------------------------

    @property
    def num_stages(self) -> int:
        return len(self.layout.stages)

    def stage_depths(self, stage_index: int) -> tuple[int, ...]:
        stage = self.layout.stages[stage_index]
        if not stage.elastic_depth:
            return (stage.max_depth,)
        return tuple(d for d in self.depths if d <= stage.max_depth)

    def restrict(
        self,
        *,
        kernel_sizes: Sequence[int] | None = None,
        expand_ratios: Sequence[int] | None = None,
        depths: Sequence[int] | None = None,
        resolutions: Sequence[int] | None = None,
    ) -> MBv3Space:
        """A sub-space with fewer choices; ArchError if a choice is not in this space."""
        asked = {
            "kernel_sizes": kernel_sizes,
            "expand_ratios": expand_ratios,
            "depths": depths,
            "resolutions": resolutions,
        }
        return self.restrict_choices({k: v for k, v in asked.items() if v is not None})

    @property
    def num_classes(self) -> int:
        return self.layout.head.num_classes

    def describe(self) -> dict[str, Any]:
        return {
            "kernel_size": list(self.kernel_sizes),
            "expand_ratio": list(self.expand_ratios),
            "depth": [list(self.stage_depths(s)) for s in range(self.num_stages)],
            "resolution": list(self.resolutions),
            "num_classes": self.layout.head.num_classes,
        }

    # --- single archs --------------------------------------------------------------------------

    def validate(self, arch: MBv3Arch, *, any_resolution: bool = False) -> None:
        if not isinstance(arch, MBv3Arch):
            raise ArchError(f"expected an MBv3Arch, got {type(arch).__name__}")
        if any_resolution:
            if not isinstance(arch.resolution, int) or arch.resolution < 8:
                raise ArchError(f"resolution={arch.resolution!r} must be an integer >= 8")
        elif arch.resolution not in self.resolutions:
            raise ArchError(f"resolution={arch.resolution} not in {_short(self.resolutions)}")
        if len(arch.stages) != self.num_stages:
            raise ArchError(
                f"the arch has {len(arch.stages)} stages, the space has {self.num_stages}"
            )
        for s, stage in enumerate(arch.stages):
            if len(stage) not in self.stage_depths(s):
                raise ArchError(f"stage {s}: depth={len(stage)} not in {self.stage_depths(s)}")
            for b, block in enumerate(stage):
                if block.kernel_size not in self.kernel_sizes:
                    raise ArchError(
                        f"stage {s} block {b}: kernel_size={block.kernel_size} "
                        f"not in {self.kernel_sizes}"
                    )
                if block.expand_ratio not in self.expand_ratios:
                    raise ArchError(
                        f"stage {s} block {b}: expand_ratio={block.expand_ratio} "
                        f"not in {self.expand_ratios}"
                    )

    def max(self) -> MBv3Arch:
        return self._uniform(
            max(self.resolutions), max(self.kernel_sizes), max(self.expand_ratios), max
        )

    def min(self) -> MBv3Arch:
        return self._uniform(
            min(self.resolutions), min(self.kernel_sizes), min(self.expand_ratios), min
        )

    def uniform(self, resolution: int, kernel_size: int, expand_ratio: int, depth: int) -> MBv3Arch:
        """Every stage at `depth` (clipped to what the stage allows), every block alike."""

        def pick(choices: tuple[int, ...]) -> int:
            fitting = [d for d in choices if d <= depth]
            return max(fitting) if fitting else min(choices)

        arch = MBv3Arch(
            resolution,
            tuple(
                (MBv3Block(kernel_size, expand_ratio),) * pick(self.stage_depths(s))
                for s in range(self.num_stages)
            ),
        )
        self.validate(arch)
        return arch

    def _uniform(self, resolution: int, k: int, e: int, pick: Any) -> MBv3Arch:
        return MBv3Arch(
            resolution,
            tuple((MBv3Block(k, e),) * pick(self.stage_depths(s)) for s in range(self.num_stages)),
        )

    def size(self, with_resolutions: bool = False) -> int:
        per_block = len(self.kernel_sizes) * len(self.expand_ratios)
        total = 1
        for s in range(self.num_stages):
            total *= sum(per_block**d for d in self.stage_depths(s))
        return total * (len(self.resolutions) if with_resolutions else 1)

    def parse(self, text: str) -> MBv3Arch:
        arch = MBv3Arch.from_str(text)
        self.validate(arch)
        return arch

    def arch_from_json(self, obj: dict[str, Any]) -> MBv3Arch:
        arch = MBv3Arch.from_json(obj)
        self.validate(arch)
        return arch

    def from_reference_dict(self, ref: dict[str, Any], resolution: int | None = None) -> MBv3Arch:
        from onceforall.arch.reference import mbv3_from_reference_dict

        arch = mbv3_from_reference_dict(ref, self, resolution)
        self.validate(arch)
        return arch

    def to_reference_dict(self, arch: MBv3Arch) -> dict[str, Any]:
        self.validate(arch, any_resolution=True)
        return arch.to_reference_dict(self.layout.slots_per_stage)

    # --- population form -----------------------------------------------------------------------
    # Columns: [resolution | depth per stage | kernel size per slot | expand ratio per slot];
    # values, not indices, so rows stay meaningful in restricted spaces. Inactive slots are 0.
    # Sampling, mutation, crossover and membership come from GenomeSpace.

    @cached_property
    def genome(self) -> Genome:
        slots = self.layout.num_slots
        return Genome(
            (
                GeneGroup("resolution", self.resolutions, kind="resolution"),
                *(GeneGroup(f"depth{s}", self.stage_depths(s)) for s in range(self.num_stages)),
                GeneGroup("kernel_size", self.kernel_sizes, slots, kind="slot"),
                GeneGroup("expand_ratio", self.expand_ratios, slots, kind="slot"),
            ),
            draw_first=tuple(f"depth{s}" for s in range(self.num_stages)),
        )

    @cached_property
    def _slot_stage(self) -> np.ndarray:
        return np.repeat(np.arange(self.num_stages), self.layout.slots_per_stage)

    @cached_property
    def _slot_position(self) -> np.ndarray:
        return np.concatenate([np.arange(n) for n in self.layout.slots_per_stage])

    def columns(self) -> tuple[slice, slice, slice]:
        """Column slices of (depths, kernel sizes, expand ratios); column 0 is the resolution."""
        s, n = self.num_stages, self.layout.num_slots
        return slice(1, 1 + s), slice(1 + s, 1 + s + n), slice(1 + s + n, 1 + s + 2 * n)

    def active_slots(self, population: Population) -> np.ndarray:
        """Boolean (rows, slots): which block slots run."""
        depth_cols, _, _ = self.columns()
        depths = np.asarray(population)[:, depth_cols][:, self._slot_stage]
        return self._slot_position[None, :] < depths

    def to_population(self, archs: Iterable[MBv3Arch]) -> Population:
        archs = list(archs)
        out = np.zeros((len(archs), self.population_width), dtype=np.int32)
        depth_cols, k_cols, e_cols = self.columns()
        offsets = np.concatenate([[0], np.cumsum(self.layout.slots_per_stage)])
        for row, arch in enumerate(archs):
            if len(arch.stages) != self.num_stages:
                raise ArchError(
                    f"the arch has {len(arch.stages)} stages, the space has {self.num_stages}"
                )
            out[row, 0] = arch.resolution
            out[row, depth_cols] = arch.depths
            for s, stage in enumerate(arch.stages):
                if len(stage) > self.layout.stages[s].max_depth:
                    raise ArchError(
                        f"stage {s}: depth={len(stage)} exceeds {self.layout.stages[s].max_depth}"
                    )
                for b, block in enumerate(stage):
                    out[row, k_cols.start + offsets[s] + b] = block.kernel_size
                    out[row, e_cols.start + offsets[s] + b] = block.expand_ratio
        return out

    def from_population(self, population: Population) -> list[MBv3Arch]:
        population = np.asarray(population)
        depth_cols, k_cols, e_cols = self.columns()
        offsets = np.concatenate([[0], np.cumsum(self.layout.slots_per_stage)])
        result = []
        for row in population.tolist():
            ks, es = row[k_cols], row[e_cols]
            stages = tuple(
                tuple(
                    MBv3Block(ks[offsets[s] + b], es[offsets[s] + b])
                    for b in range(row[depth_cols][s])
                )
                for s in range(self.num_stages)
            )
            result.append(MBv3Arch(row[0], stages))
        return result

    # --- slot tables (arch/slot_table.py): one term per block slot --------------------------------

    @property
    def slot_table_shape(self) -> tuple[int, ...]:
        """(slots, kernel sizes, expand ratios)."""
        return (self.layout.num_slots, len(self.kernel_sizes), len(self.expand_ratios))

    def slot_index(self, population: Population) -> SlotIndex:
        population = check_population(self, population).astype(np.int64)
        _, k_cols, e_cols = self.columns()
        active = self.active_slots(population)
        k_index = choice_index(population[:, k_cols], self.kernel_sizes, active, "kernel_size")
        e_index = choice_index(population[:, e_cols], self.expand_ratios, active, "expand_ratio")
        slots, kernels, expands = self.slot_table_shape
        entries = (np.arange(slots)[None, :] * kernels + k_index) * expands + e_index
        return SlotIndex(entries, active)

    def cost_table(self, resolution: int, what: Literal["macs", "params"]) -> ResolutionTable:
        tables = mbv3_cost_tables(self.layout, resolution, self.kernel_sizes, self.expand_ratios)
        return tables[0 if what == "macs" else 1]

    def macs_population(self, population: Population) -> np.ndarray:
        return mbv3_costs(self, population, 0)

    def params_population(self, population: Population) -> np.ndarray:
        return mbv3_costs(self, population, 1)


def _short(values: tuple[int, ...]) -> str:
    """(128, 132, ..., 224) style for long regular choice lists."""
    if len(values) > 6:
        step = values[1] - values[0]
        if all(b - a == step for a, b in itertools.pairwise(values)):
            return f"{values[0]}..{values[-1]} step {step}"
    return str(values)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
