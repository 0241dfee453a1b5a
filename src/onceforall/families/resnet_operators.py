"""The operators of OFA-ResNet sub-networks for latency tables (torch-free).

A sub-network is a stem (with its max pool), bottleneck blocks and the classifier; each is one
operator whose latency depends only on its shape. `resnet_operator_grid` gives, for one
resolution, the operator of every entry of `ResNetSpace`'s slot table (stem by mid width, output
width and depth; block slot by input width, width and expand ratio; classifier by the last width),
the same entries that count MACs (arch/resnet_costs.py). Entries no sub-network of the space can
read (widths or depths the space leaves out) have no operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from onceforall.arch.resnet_costs import block_input_sizes
from onceforall.arch.resnet_space import STEM_DEPTHS, ResNetSpace
from onceforall.families.operators import FlatOperatorGrid, Operator


@dataclass(frozen=True)
class ResNetStemOp:
    """conv 3x3/s -> [x + residual conv 3x3] -> conv 3x3 (each + BN + ReLU) -> [max pool 3x3/2]."""

    kind: ClassVar[str] = "resnet_stem"
    labels: ClassVar[tuple[str, ...]] = ("in", "mid", "out", "d", "s", "pool")

    input_size: int
    in_channels: int
    mid_channels: int
    out_channels: int
    depth: int
    stride: int
    max_pool: bool


@dataclass(frozen=True)
class BottleneckOp:
    """1x1 -> 3x3 (stride) -> 1x1, + shortcut (avg pool + 1x1 conv + BN when `projection`)."""

    kind: ClassVar[str] = "bottleneck"
    labels: ClassVar[tuple[str, ...]] = ("in", "mid", "out", "s", "proj")

    input_size: int
    in_channels: int
    mid_channels: int
    out_channels: int
    stride: int
    projection: bool


@dataclass(frozen=True)
class ResNetHeadOp:
    """Global average pool -> linear classifier."""

    kind: ClassVar[str] = "resnet_head"
    labels: ClassVar[tuple[str, ...]] = ("in", "classes")

    input_size: int
    in_channels: int
    num_classes: int


RESNET_OPERATOR_TYPES: tuple[type[Any], ...] = (ResNetStemOp, BottleneckOp, ResNetHeadOp)


def resnet_operator_grid(space: ResNetSpace, resolution: int) -> FlatOperatorGrid:
    """Every operator a sub-network of `space` at `resolution` can run, in slot-table order."""
    layout = space.layout
    widths = layout.width_multipliers
    in_space = set(space.width_multipliers)
    entries: list[Operator | None] = []
    for mid in widths:
        for out in widths:
            for depth in STEM_DEPTHS:
                runs = (
                    mid in space.stem_mid_width_multipliers
                    and out in in_space
                    and depth in space.stem_depths
                )
                entries.append(
                    ResNetStemOp(
                        resolution,
                        layout.in_channels,
                        layout.stem_mid_channels(mid),
                        layout.stem_channels(out),
                        depth,
                        layout.stem_stride,
                        layout.max_pool,
                    )
                    if runs
                    else None
                )
    sizes, final = block_input_sizes(layout, resolution)
    slot = 0
    for s, stage in enumerate(layout.stages):
        for position in range(stage.max_depth):
            first = position == 0
            ins = layout.stage_in_choices(s) if first else layout.stage_out_choices(s)
            for prev, cin in zip(widths, ins, strict=True):
                for own, out in zip(widths, layout.stage_out_choices(s), strict=True):
                    for ratio in space.expand_ratios:
                        runs = prev in in_space and own in in_space and (first or prev == own)
                        entries.append(
                            BottleneckOp(
                                sizes[slot],
                                cin,
                                layout.mid_channels(out, ratio),
                                out,
                                stage.stride if first else 1,
                                layout.has_projection(s, position),
                            )
                            if runs
                            else None
                        )
            slot += 1
    last = len(layout.stages) - 1
    for width, channels in zip(widths, layout.stage_out_choices(last), strict=True):
        entries.append(
            ResNetHeadOp(final, channels, layout.num_classes) if width in in_space else None
        )
    return FlatOperatorGrid(resolution, (), tuple(entries))
