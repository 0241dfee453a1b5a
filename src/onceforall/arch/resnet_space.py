"""ResNetSpace: the sub-networks of an OFA-ResNet supernet (torch-free).

Choices: per stage, its depth (base blocks plus 0, 1 or 2 extra ones) and width multiplier; per
block, its expand ratio; the input stem's depth (with or without its residual convolution) and
its two widths; the input resolution.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np

from onceforall.arch.genome import GeneGroup, Genome, GenomeSpace, check_population, choice_index
from onceforall.arch.resnet import ResNetArch, ResNetStage, ResNetStem
from onceforall.arch.resnet_costs import resnet_cost_tables, resnet_costs
from onceforall.arch.resnet_layout import ResNetLayout
from onceforall.arch.resnet_reference import resnet_from_reference_dict, resnet_to_reference_dict
from onceforall.arch.slot_table import ResolutionTable, SlotIndex
from onceforall.arch.space import Population, choice_tuple
from onceforall.errors import ArchError

# Ratios are stored in population matrices in thousandths (0.65 -> 650).
SCALE = 1000
STEM_DEPTHS = (2, 3)
# The input sizes the released OFA-ResNet50 accuracy predictor knows.
RESNET50_RESOLUTIONS = (128, 144, 160, 176, 192, 224, 240, 256)


def ratio_choices(values: Sequence[float], name: str) -> tuple[float, ...]:
    """Sorted, de-duplicated positive ratios that are whole thousandths."""
    result = tuple(sorted({float(v) for v in values}))
    if not result:
        raise ArchError(f"{name}: at least one choice is needed")
    for value in result:
        if not value > 0 or abs(value * SCALE - round(value * SCALE)) > 1e-6:
            raise ArchError(f"{name}: {value} is not a positive multiple of 0.001")
    return result


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _member(value: Any, choices: tuple[Any, ...]) -> bool:
    """`value` is one of `choices` and of their type (True is not 1, 224.0 is not 224)."""
    kind_ok = _is_int(value) if _is_int(choices[0]) else isinstance(value, float)
    return kind_ok and value in choices


def scaled(values: Iterable[float]) -> tuple[int, ...]:
    return tuple(round(v * SCALE) for v in values)


@dataclass(frozen=True)
class ResNetSpace(GenomeSpace[ResNetArch]):
    layout: ResNetLayout
    extra_blocks: tuple[int, ...] = (0, 1, 2)
    expand_ratios: tuple[float, ...] = (0.2, 0.25, 0.35)
    width_multipliers: tuple[float, ...] = ()  # () = every multiplier of the layout
    stem_depths: tuple[int, ...] = STEM_DEPTHS
    resolutions: tuple[int, ...] = RESNET50_RESOLUTIONS

    def __post_init__(self) -> None:
        layout = self.layout
        widths = self.width_multipliers or layout.width_multipliers
        object.__setattr__(self, "width_multipliers", ratio_choices(widths, "width_multipliers"))
        object.__setattr__(
            self, "expand_ratios", ratio_choices(self.expand_ratios, "expand_ratios")
        )
        object.__setattr__(self, "resolutions", choice_tuple(self.resolutions, "resolutions"))
        extra = tuple(sorted({int(v) for v in self.extra_blocks}))
        if not extra or extra[0] < 0:
            raise ArchError(f"extra_blocks: choices must be >= 0, got {extra}")
        object.__setattr__(self, "extra_blocks", extra)
        stem = tuple(sorted({int(v) for v in self.stem_depths}))
        if not stem or not set(stem) <= set(STEM_DEPTHS):
            raise ArchError(f"stem_depths: choices must be within {STEM_DEPTHS}, got {stem}")
        object.__setattr__(self, "stem_depths", stem)
        unknown = sorted(set(self.width_multipliers) - set(layout.width_multipliers))
        if unknown:
            raise ArchError(
                f"width_multipliers {unknown} not among the layout's {layout.width_multipliers}"
            )
        for s in range(self.num_stages):
            if not self.stage_extra_blocks(s):
                raise ArchError(
                    f"extra_blocks {extra}: no choice fits stage {s} "
                    f"(at most {layout.stages[s].max_extra_blocks} extra blocks)"
                )
            for w in self.width_multipliers:
                out = layout.stage_channels(s, w)
                mids = [layout.mid_channels(out, e) for e in self.expand_ratios]
                if len(set(mids)) != len(mids):
                    raise ArchError(
                        f"expand_ratios {self.expand_ratios} give bottleneck widths {mids} in "
                        f"stage {s} at width {w}: equal widths would be one network twice"
                    )

    # --- choices -------------------------------------------------------------------------------

    @property
    def num_stages(self) -> int:
        return len(self.layout.stages)

    def stage_extra_blocks(self, stage_index: int) -> tuple[int, ...]:
        most = self.layout.stages[stage_index].max_extra_blocks
        return tuple(e for e in self.extra_blocks if e <= most)

    def stage_depths(self, stage_index: int) -> tuple[int, ...]:
        """Blocks that can run in a stage (base depth + extra blocks)."""
        base = self.layout.stages[stage_index].base_depth
        return tuple(base + e for e in self.stage_extra_blocks(stage_index))

    @cached_property
    def stem_mid_width_multipliers(self) -> tuple[float, ...]:
        """The stem mid widths of this space, each written as its canonical multiplier."""
        return tuple(sorted({self.layout.canonical_stem_mid[w] for w in self.width_multipliers}))

    @property
    def num_classes(self) -> int:
        return self.layout.num_classes

    def describe(self) -> dict[str, Any]:
        return {
            "stem_depth": list(self.stem_depths),
            "stem_mid_width_multiplier": list(self.stem_mid_width_multipliers),
            "width_multiplier": list(self.width_multipliers),
            "extra_blocks": [list(self.stage_extra_blocks(s)) for s in range(self.num_stages)],
            "expand_ratio": list(self.expand_ratios),
            "resolution": list(self.resolutions),
            "num_classes": self.layout.num_classes,
        }

    def restrict(
        self,
        *,
        extra_blocks: Sequence[int] | None = None,
        expand_ratios: Sequence[float] | None = None,
        width_multipliers: Sequence[float] | None = None,
        stem_depths: Sequence[int] | None = None,
        resolutions: Sequence[int] | None = None,
    ) -> ResNetSpace:
        """A sub-space with fewer choices; ArchError if a choice is not in this space."""
        asked = {
            "extra_blocks": extra_blocks,
            "expand_ratios": expand_ratios,
            "width_multipliers": width_multipliers,
            "stem_depths": stem_depths,
            "resolutions": resolutions,
        }
        return self.restrict_choices({k: v for k, v in asked.items() if v is not None})

    # --- single archs --------------------------------------------------------------------------

    def validate(self, arch: ResNetArch, *, any_resolution: bool = False) -> None:
        if not isinstance(arch, ResNetArch):
            raise ArchError(f"expected a ResNetArch, got {type(arch).__name__}")
        if any_resolution:
            if not _is_int(arch.resolution) or arch.resolution < 8:
                raise ArchError(f"resolution={arch.resolution!r} must be an integer >= 8")
        elif not _member(arch.resolution, self.resolutions):
            raise ArchError(f"resolution={arch.resolution!r} not in {self.resolutions}")
        stem = arch.stem
        if not isinstance(stem, ResNetStem):
            raise ArchError(f"the stem must be a ResNetStem, got {type(stem).__name__}")
        if not _member(stem.depth, self.stem_depths):
            raise ArchError(f"stem depth={stem.depth!r} not in {self.stem_depths}")
        if not _member(stem.width_multiplier, self.width_multipliers):
            raise ArchError(
                f"stem width_multiplier={stem.width_multiplier!r} not in {self.width_multipliers}"
            )
        mid = stem.mid_width_multiplier
        if not _member(mid, self.stem_mid_width_multipliers):
            canonical = self.layout.canonical_stem_mid.get(mid)
            if canonical is not None and canonical in self.stem_mid_width_multipliers:
                channels = self.layout.stem_mid_channels(mid)
                raise ArchError(
                    f"stem mid_width_multiplier={mid} gives the same {channels} channels "
                    f"as {canonical}: write {canonical}"
                )
            raise ArchError(
                f"stem mid_width_multiplier={mid!r} not in {self.stem_mid_width_multipliers}"
            )
        if len(arch.stages) != self.num_stages:
            raise ArchError(
                f"the arch has {len(arch.stages)} stages, the space has {self.num_stages}"
            )
        for s, stage in enumerate(arch.stages):
            if not _member(stage.width_multiplier, self.width_multipliers):
                raise ArchError(
                    f"stage {s}: width_multiplier={stage.width_multiplier!r} "
                    f"not in {self.width_multipliers}"
                )
            if not isinstance(stage.expand_ratios, tuple):
                raise ArchError(f"stage {s}: expand_ratios must be a tuple")
            if stage.depth not in self.stage_depths(s):
                raise ArchError(f"stage {s}: depth={stage.depth} not in {self.stage_depths(s)}")
            for b, ratio in enumerate(stage.expand_ratios):
                if not _member(ratio, self.expand_ratios):
                    raise ArchError(
                        f"stage {s} block {b}: expand_ratio={ratio!r} not in {self.expand_ratios}"
                    )

    def _uniform(self, pick: Any) -> ResNetArch:
        return ResNetArch(
            pick(self.resolutions),
            ResNetStem(
                pick(self.stem_depths),
                pick(self.stem_mid_width_multipliers),
                pick(self.width_multipliers),
            ),
            tuple(
                ResNetStage(
                    pick(self.width_multipliers),
                    (pick(self.expand_ratios),) * pick(self.stage_depths(s)),
                )
                for s in range(self.num_stages)
            ),
        )

    def max(self) -> ResNetArch:
        return self._uniform(max)

    def min(self) -> ResNetArch:
        return self._uniform(min)

    def size(self, with_resolutions: bool = False) -> int:
        total = len(self.stem_depths) * len(self.stem_mid_width_multipliers)
        total *= len(self.width_multipliers)
        per_block = len(self.expand_ratios)
        for s in range(self.num_stages):
            total *= len(self.width_multipliers) * sum(per_block**d for d in self.stage_depths(s))
        return total * (len(self.resolutions) if with_resolutions else 1)

    def parse(self, text: str) -> ResNetArch:
        arch = ResNetArch.from_str(text)
        self.validate(arch)
        return arch

    def arch_from_json(self, obj: dict[str, Any]) -> ResNetArch:
        arch = ResNetArch.from_json(obj)
        self.validate(arch)
        return arch

    def from_reference_dict(self, ref: dict[str, Any], resolution: int | None = None) -> ResNetArch:
        arch = resnet_from_reference_dict(ref, self.layout, resolution)
        self.validate(arch)
        return arch

    def to_reference_dict(self, arch: ResNetArch) -> dict[str, Any]:
        self.validate(arch, any_resolution=True)
        return resnet_to_reference_dict(arch, self.layout)

    # --- population form -----------------------------------------------------------------------
    # Columns: [resolution | stem depth | stem mid width | stem width | depth per stage |
    # width per stage | expand ratio per block slot]; ratios in thousandths, inactive slots 0.

    @cached_property
    def genome(self) -> Genome:
        widths = scaled(self.width_multipliers)
        return Genome(
            (
                GeneGroup("resolution", self.resolutions, kind="resolution"),
                GeneGroup("stem_depth", self.stem_depths),
                GeneGroup("stem_mid_width", scaled(self.stem_mid_width_multipliers)),
                GeneGroup("stem_width", widths),
                *(GeneGroup(f"depth{s}", self.stage_depths(s)) for s in range(self.num_stages)),
                GeneGroup("width", widths, self.num_stages),
                GeneGroup(
                    "expand_ratio", scaled(self.expand_ratios), self.layout.num_slots, "slot"
                ),
            )
        )

    def column(self, name: str) -> slice:
        """Columns of a gene group: resolution, stem_depth, stem_mid_width, stem_width, depth<s>,
        width (one per stage), expand_ratio (one per block slot)."""
        return self.genome.slices[name]

    @cached_property
    def depth_columns(self) -> np.ndarray:
        return np.array([self.column(f"depth{s}").start for s in range(self.num_stages)])

    @cached_property
    def slot_stage(self) -> np.ndarray:
        """The stage of every block slot."""
        return np.repeat(np.arange(self.num_stages), self.layout.slots_per_stage)

    @cached_property
    def slot_position(self) -> np.ndarray:
        """The position of every block slot inside its stage."""
        return np.concatenate([np.arange(n) for n in self.layout.slots_per_stage])

    def active_slots(self, population: Population) -> np.ndarray:
        depths = np.asarray(population)[:, self.depth_columns][:, self.slot_stage]
        return self.slot_position[None, :] < depths

    def to_population(self, archs: Iterable[ResNetArch]) -> Population:
        archs = list(archs)
        out = np.zeros((len(archs), self.population_width), dtype=np.int32)
        offsets = np.concatenate([[0], np.cumsum(self.layout.slots_per_stage)])
        e_start = self.column("expand_ratio").start
        for row, arch in enumerate(archs):
            if len(arch.stages) != self.num_stages:
                raise ArchError(
                    f"the arch has {len(arch.stages)} stages, the space has {self.num_stages}"
                )
            out[row, 0] = arch.resolution
            out[row, self.column("stem_depth")] = arch.stem.depth
            out[row, self.column("stem_mid_width")] = round(arch.stem.mid_width_multiplier * SCALE)
            out[row, self.column("stem_width")] = round(arch.stem.width_multiplier * SCALE)
            out[row, self.depth_columns] = arch.depths
            out[row, self.column("width")] = scaled(arch.width_multipliers)
            for s, stage in enumerate(arch.stages):
                if stage.depth > self.layout.stages[s].max_depth:
                    raise ArchError(
                        f"stage {s}: depth={stage.depth} exceeds {self.layout.stages[s].max_depth}"
                    )
                start = e_start + offsets[s]
                out[row, start : start + stage.depth] = scaled(stage.expand_ratios)
        return out

    def from_population(self, population: Population) -> list[ResNetArch]:
        population = np.asarray(population)
        offsets = np.concatenate([[0], np.cumsum(self.layout.slots_per_stage)])
        e_cols, w_cols = self.column("expand_ratio"), self.column("width")
        result = []
        for row in population.tolist():
            ratios, widths = row[e_cols], row[w_cols]
            stem = ResNetStem(
                row[self.column("stem_depth")][0],
                row[self.column("stem_mid_width")][0] / SCALE,
                row[self.column("stem_width")][0] / SCALE,
            )
            stages = tuple(
                ResNetStage(
                    widths[s] / SCALE,
                    tuple(
                        ratios[offsets[s] + b] / SCALE for b in range(row[self.depth_columns[s]])
                    ),
                )
                for s in range(self.num_stages)
            )
            result.append(ResNetArch(row[0], stem, stages))
        return result

    # --- slot tables (arch/slot_table.py): the stem, one term per block slot, the classifier ------

    @property
    def slot_table_shape(self) -> tuple[int, ...]:
        """Flat: stem (mid, out, depth), blocks (slot, previous width, width, expand ratio),
        classifier (last width); widths index the layout's multipliers."""
        n_w, n_e = len(self.layout.width_multipliers), len(self.expand_ratios)
        return (n_w * n_w * len(STEM_DEPTHS) + self.layout.num_slots * n_w * n_w * n_e + n_w,)

    def slot_index(self, population: Population) -> SlotIndex:
        population = check_population(self, population).astype(np.int64)
        n = len(population)
        everywhere = np.ones((n, 1), dtype=bool)
        widths = scaled(self.layout.width_multipliers)

        def index(name: str, choices: tuple[int, ...], active: np.ndarray) -> np.ndarray:
            return choice_index(population[:, self.column(name)], choices, active, name)

        mid = index("stem_mid_width", widths, everywhere)[:, 0]
        out = index("stem_width", widths, everywhere)[:, 0]
        depth = choice_index(
            population[:, self.column("stem_depth")], STEM_DEPTHS, everywhere, "stem"
        )
        stage_w = index("width", widths, np.ones((n, self.num_stages), dtype=bool))
        active = self.active_slots(population)
        ratios = index("expand_ratio", scaled(self.expand_ratios), active)
        # each slot's own width is its stage's; the first slot of a stage reads the previous
        # stage's width (the stem's for stage 0), later slots their own stage's
        own = stage_w[:, self.slot_stage]
        previous = np.concatenate([out[:, None], stage_w], axis=1)[:, self.slot_stage]
        prev = np.where(self.slot_position[None, :] == 0, previous, own)
        n_w, n_e = len(widths), len(self.expand_ratios)
        stem = (mid * n_w + out) * len(STEM_DEPTHS) + depth[:, 0]
        blocks_start = n_w * n_w * len(STEM_DEPTHS)
        slots = np.arange(self.layout.num_slots)[None, :]
        blocks = blocks_start + ((slots * n_w + prev) * n_w + own) * n_e + ratios
        head = blocks_start + self.layout.num_slots * n_w * n_w * n_e + stage_w[:, -1]
        entries = np.concatenate([stem[:, None], blocks, head[:, None]], axis=1)
        return SlotIndex(entries, np.concatenate([everywhere, active, everywhere], axis=1))

    def cost_table(self, resolution: int, what: Literal["macs", "params"]) -> ResolutionTable:
        tables = resnet_cost_tables(self.layout, resolution, self.expand_ratios)
        return tables[0 if what == "macs" else 1]

    def macs_population(self, population: Population) -> np.ndarray:
        return resnet_costs(self, population, 0)

    def params_population(self, population: Population) -> np.ndarray:
        return resnet_costs(self, population, 1)
