"""Predictor inputs of OFA-ResNet sub-networks: a population matrix -> one-hot features.

The layout is that of the released OFA-ResNet50 predictor (82 inputs for ResNet50):

    [resolution one-hot | stem: skipped, full | width index one-hot for the stem mid, the stem
     output and each stage | expand ratio one-hot per block slot (zeros when skipped)]

Width one-hots index the layout's multipliers (0.65, 0.8, 1.0). The stem mid width is written as
its canonical multiplier (0.65 for the 24 channels that 0.8 gives too), so the same network
always gets the same input; the reference encodes whatever index its dict holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from onceforall.arch.genome import check_population, choice_index
from onceforall.arch.resnet_space import ResNetSpace, ratio_choices, scaled
from onceforall.arch.space import Space
from onceforall.errors import ArchError, PredictorError

FAMILY = "resnet"


@dataclass(frozen=True)
class ResNetFeatureEncoding:
    """How a sub-network of an OFA-ResNet space becomes the predictor's input vector."""

    resolutions: tuple[int, ...]
    width_multipliers: tuple[float, ...]
    expand_ratios: tuple[float, ...]
    slots_per_stage: tuple[int, ...]

    def __post_init__(self) -> None:
        for name in ("resolutions", "slots_per_stage"):
            values = tuple(int(v) for v in getattr(self, name))
            if not values or min(values) <= 0:
                raise PredictorError(f"feature encoding: {name} must be positive, got {values}")
            object.__setattr__(self, name, values)
        if list(self.resolutions) != sorted(set(self.resolutions)):
            raise PredictorError("feature encoding: resolutions must be sorted and distinct")
        for name in ("width_multipliers", "expand_ratios"):
            try:
                object.__setattr__(self, name, ratio_choices(getattr(self, name), name))
            except (ArchError, TypeError, ValueError) as error:
                raise PredictorError(f"feature encoding: {error}") from None

    @classmethod
    def for_space(cls, space: ResNetSpace) -> ResNetFeatureEncoding:
        return cls(
            resolutions=space.resolutions,
            width_multipliers=space.layout.width_multipliers,
            expand_ratios=space.expand_ratios,
            slots_per_stage=space.layout.slots_per_stage,
        )

    @classmethod
    def released_resnet50(cls) -> ResNetFeatureEncoding:
        """The 82 inputs of the released OFA-ResNet50 predictor (ofa_resnet50_acc_predictor.pth)."""
        return cls(
            resolutions=(128, 144, 160, 176, 192, 224, 240, 256),
            width_multipliers=(0.65, 0.8, 1.0),
            expand_ratios=(0.2, 0.25, 0.35),
            slots_per_stage=(4, 4, 6, 4),
        )

    @property
    def num_stages(self) -> int:
        return len(self.slots_per_stage)

    @property
    def width(self) -> int:
        """Number of input features."""
        widths = (self.num_stages + 2) * len(self.width_multipliers)
        return (
            len(self.resolutions) + 2 + widths + sum(self.slots_per_stage) * len(self.expand_ratios)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "family": FAMILY,
            "resolutions": list(self.resolutions),
            "width_multipliers": list(self.width_multipliers),
            "expand_ratios": list(self.expand_ratios),
            "slots_per_stage": list(self.slots_per_stage),
        }

    @classmethod
    def from_json(cls, obj: Any) -> ResNetFeatureEncoding:
        expected = {
            "family",
            "resolutions",
            "width_multipliers",
            "expand_ratios",
            "slots_per_stage",
        }
        if not isinstance(obj, dict) or set(obj) != expected or obj["family"] != FAMILY:
            raise PredictorError(
                f"a ResNet feature encoding has exactly the keys {sorted(expected)}"
            )
        try:
            return cls(**{key: tuple(obj[key]) for key in expected - {"family"}})
        except TypeError as error:
            raise PredictorError(f"bad feature encoding: {error}") from None

    def check_space(self, space: Space[Any]) -> None:
        """PredictorError unless every sub-network of `space` has an encoding here."""
        if not isinstance(space, ResNetSpace):
            raise PredictorError(
                f"the predictor encodes OFA-ResNet spaces, not {type(space).__name__}"
            )
        problems = []
        if space.layout.slots_per_stage != self.slots_per_stage:
            problems.append(
                f"block slots per stage {space.layout.slots_per_stage} != {self.slots_per_stage}"
            )
        for name, theirs in (
            ("resolutions", space.resolutions),
            ("width_multipliers", space.layout.width_multipliers),
            ("expand_ratios", space.expand_ratios),
        ):
            extra = sorted(set(theirs) - set(getattr(self, name)))
            if extra:
                problems.append(f"{name} {extra} not in {getattr(self, name)}")
        if problems:
            raise PredictorError("the predictor was made for another space: " + "; ".join(problems))

    def encode(self, space: Space[Any], population: np.ndarray) -> np.ndarray:
        """Float32 features, one row per row of `space`'s population matrix."""
        if not isinstance(space, ResNetSpace):
            raise PredictorError(
                f"the predictor encodes OFA-ResNet spaces, not {type(space).__name__}"
            )
        population = check_population(space, population)
        n = len(population)
        rows = np.arange(n)[:, None]
        everywhere = np.ones((n, 1), dtype=bool)
        features = np.zeros((n, self.width), dtype=np.float32)
        offset = 0
        resolution = choice_index(population[:, :1], self.resolutions, everywhere, "resolution")
        features[rows, offset + resolution] = 1.0
        offset += len(self.resolutions)
        stem_full = population[:, space.column("stem_depth")] == 3
        features[rows, offset + stem_full.astype(np.int64)] = 1.0
        offset += 2
        widths = np.concatenate(
            [
                population[:, space.column("stem_mid_width")],
                population[:, space.column("stem_width")],
                population[:, space.column("width")],
            ],
            axis=1,
        )
        n_w = len(self.width_multipliers)
        index = choice_index(
            widths, scaled(self.width_multipliers), np.ones_like(widths, dtype=bool), "width"
        )
        features[rows, offset + np.arange(widths.shape[1]) * n_w + index] = 1.0
        offset += widths.shape[1] * n_w
        active = space.active_slots(population)
        ratios = choice_index(
            population[:, space.column("expand_ratio")],
            scaled(self.expand_ratios),
            active,
            "expand_ratio",
        )
        n_e = len(self.expand_ratios)
        where, slot = np.nonzero(active)
        features[where, offset + slot * n_e + ratios[where, slot]] = 1.0
        return features
