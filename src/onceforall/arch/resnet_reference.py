"""Conversion of ResNet archs to and from the reference implementation's dicts.

The reference describes an OFA-ResNet sub-network as ``{"d": [...], "e": [...], "w": [...]}``
plus the resolution (``image_size`` or ``r``):

- ``d``: first the input stem (the reference skips the stem's residual convolution unless the
  entry equals its largest depth choice, 2; it writes 0 for a skipped one), then per stage the
  number of extra blocks that run after the stage's base blocks (0, 1 or 2);
- ``e``: one expand ratio per block slot (18 for ResNet50), skipped slots included and ignored;
- ``w``: indices into the supernet's width multipliers (0.65, 0.8, 1.0): the stem's first two
  convolutions, the stem's output convolution, then one per stage.
"""

from __future__ import annotations

from typing import Any

from onceforall.arch.reference import int_list, reference_resolution
from onceforall.arch.resnet import ResNetArch, ResNetStage, ResNetStem
from onceforall.arch.resnet_layout import ResNetLayout
from onceforall.errors import ArchError


def _max_extra(layout: ResNetLayout) -> int:
    """The reference's max(depth_list): the stem keeps its residual conv only at this value."""
    return max(stage.max_extra_blocks for stage in layout.stages)


def _ratio_list(ref: dict[str, Any], key: str, length: int) -> list[float]:
    if key not in ref:
        raise ArchError(f"the reference dict has no '{key}'")
    values = ref[key]
    if not isinstance(values, (list, tuple)) or len(values) != length:
        raise ArchError(f"'{key}' must be a list of {length} numbers, got {values!r}")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ArchError(f"'{key}' must hold numbers, got {values!r}")
    return [float(v) for v in values]


def resnet_from_reference_dict(
    ref: dict[str, Any], layout: ResNetLayout, resolution: int | None = None
) -> ResNetArch:
    if not isinstance(ref, dict):
        raise ArchError(f"a reference arch is a dict, got {type(ref).__name__}")
    unknown = set(ref) - {"d", "e", "w", "r", "image_size"}
    if unknown:
        raise ArchError(f"unknown keys in the reference dict: {sorted(unknown)}")
    n_stages = len(layout.stages)
    depths = int_list(ref, "d", [n_stages + 1])
    ratios = _ratio_list(ref, "e", layout.num_slots)
    widths = int_list(ref, "w", [n_stages + 2])
    multipliers = layout.width_multipliers
    for position, index in enumerate(widths):
        if not 0 <= index < len(multipliers):
            raise ArchError(
                f"'w'[{position}]={index} is not an index into the width multipliers {multipliers}"
            )
    stem = ResNetStem(
        depth=3 if depths[0] == _max_extra(layout) else 2,
        mid_width_multiplier=layout.canonical_stem_mid[multipliers[widths[0]]],
        width_multiplier=multipliers[widths[1]],
    )
    stages = []
    offset = 0
    for s, stage in enumerate(layout.stages):
        extra = depths[s + 1]
        if not 0 <= extra <= stage.max_extra_blocks:
            raise ArchError(f"'d'[{s + 1}]={extra} must be within 0..{stage.max_extra_blocks}")
        blocks = tuple(ratios[offset : offset + stage.base_depth + extra])
        stages.append(ResNetStage(multipliers[widths[s + 2]], blocks))
        offset += stage.max_depth
    return ResNetArch(reference_resolution(ref, resolution), stem, tuple(stages))


def resnet_to_reference_dict(arch: ResNetArch, layout: ResNetLayout) -> dict[str, Any]:
    """Skipped slots repeat the stage's last expand ratio (the reference ignores them)."""
    if len(arch.stages) != len(layout.stages):
        raise ArchError(f"the arch has {len(arch.stages)} stages, the layout {len(layout.stages)}")
    index = {w: i for i, w in enumerate(layout.width_multipliers)}
    ratios: list[float] = []
    extras = []
    for stage, stage_layout in zip(arch.stages, layout.stages, strict=True):
        if not stage_layout.base_depth <= stage.depth <= stage_layout.max_depth:
            raise ArchError(
                f"a stage has {stage.depth} blocks, the layout allows "
                f"{stage_layout.base_depth}..{stage_layout.max_depth}"
            )
        padding = stage_layout.max_depth - stage.depth
        ratios += list(stage.expand_ratios) + [stage.expand_ratios[-1]] * padding
        extras.append(stage.depth - stage_layout.base_depth)
    return {
        "d": [_max_extra(layout) if arch.stem.depth == 3 else 0, *extras],
        "e": ratios,
        "w": [
            index[arch.stem.mid_width_multiplier],
            index[arch.stem.width_multiplier],
            *(index[w] for w in arch.width_multipliers),
        ],
        "image_size": arch.resolution,
    }
