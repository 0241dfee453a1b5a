"""ResNetArch: one sub-network of an OFA-ResNet supernet (torch-free).

An arch is canonical: it stores only the blocks that run (a stage's depth is the number of its
expand ratios), and the stem's mid width is written as the smallest multiplier that gives its
channel count, so one network has one encoding and `hash(arch)` deduplicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from onceforall.errors import ArchError


def _as_float(value: Any) -> Any:
    """Ints become floats (so 1 and 1.0 print alike); anything else is left for validation."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


@dataclass(frozen=True)
class ResNetStem:
    """The input stem: 3x3/2 conv -> residual 3x3 conv -> 3x3 conv.

    depth: 3 runs all three convolutions, 2 skips the residual one (the reference's 'd'[0]).
    mid_width_multiplier: width of the first two convolutions; width_multiplier: of the output.
    """

    depth: int
    mid_width_multiplier: float
    width_multiplier: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "mid_width_multiplier", _as_float(self.mid_width_multiplier))
        object.__setattr__(self, "width_multiplier", _as_float(self.width_multiplier))


@dataclass(frozen=True)
class ResNetStage:
    """A stage's width multiplier and the expand ratio of each block that runs."""

    width_multiplier: float
    expand_ratios: tuple[float, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "width_multiplier", _as_float(self.width_multiplier))
        if isinstance(self.expand_ratios, (list, tuple)):
            object.__setattr__(
                self, "expand_ratios", tuple(_as_float(e) for e in self.expand_ratios)
            )

    @property
    def depth(self) -> int:
        return len(self.expand_ratios)


@dataclass(frozen=True)
class ResNetArch:
    resolution: int
    stem: ResNetStem
    stages: tuple[ResNetStage, ...]

    @property
    def depths(self) -> tuple[int, ...]:
        """Blocks that run per stage."""
        return tuple(stage.depth for stage in self.stages)

    @property
    def width_multipliers(self) -> tuple[float, ...]:
        return tuple(stage.width_multiplier for stage in self.stages)

    @property
    def expand_ratios(self) -> tuple[tuple[float, ...], ...]:
        return tuple(stage.expand_ratios for stage in self.stages)

    @classmethod
    def from_lists(
        cls,
        resolution: int,
        stem: ResNetStem,
        width_multipliers: Sequence[float],
        expand_ratios: Sequence[Sequence[float]],
    ) -> ResNetArch:
        """From one width multiplier and one list of expand ratios per stage."""
        if len(width_multipliers) != len(expand_ratios):
            raise ArchError(
                "width_multipliers and expand_ratios must have one entry per stage each"
            )
        return cls(
            resolution,
            stem,
            tuple(
                ResNetStage(w, tuple(es))
                for w, es in zip(width_multipliers, expand_ratios, strict=True)
            ),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "resolution": self.resolution,
            "stem": {
                "depth": self.stem.depth,
                "mid_width_multiplier": self.stem.mid_width_multiplier,
                "width_multiplier": self.stem.width_multiplier,
            },
            "width_multipliers": list(self.width_multipliers),
            "expand_ratios": [list(es) for es in self.expand_ratios],
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> ResNetArch:
        expected = {"resolution", "stem", "width_multipliers", "expand_ratios"}
        if not isinstance(obj, dict) or set(obj) != expected:
            got = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
            raise ArchError(
                f"a ResNet arch JSON object has exactly the keys {sorted(expected)}, got {got}"
            )
        stem = obj["stem"]
        stem_keys = {"depth", "mid_width_multiplier", "width_multiplier"}
        if not isinstance(stem, dict) or set(stem) != stem_keys:
            raise ArchError(f"'stem' has exactly the keys {sorted(stem_keys)}, got {stem!r}")
        widths, ratios = obj["width_multipliers"], obj["expand_ratios"]
        if not isinstance(widths, list) or not isinstance(ratios, list):
            raise ArchError("'width_multipliers' and 'expand_ratios' must be lists")
        if not all(isinstance(es, list) for es in ratios):
            raise ArchError("'expand_ratios' must hold one list per stage")
        return cls.from_lists(
            obj["resolution"],
            ResNetStem(stem["depth"], stem["mid_width_multiplier"], stem["width_multiplier"]),
            widths,
            ratios,
        )

    def __str__(self) -> str:
        from onceforall.arch.resnet_codec import format_resnet

        return format_resnet(self)

    @classmethod
    def from_str(cls, text: str) -> ResNetArch:
        from onceforall.arch.resnet_codec import parse_resnet

        return parse_resnet(text)
