"""Analytic MACs and parameters of OFA-ResNet sub-networks, vectorized over populations.

Counted as arch/costs.py says: convolutions and the classifier; batch norm, activations, pooling
and additions are free. A bottleneck's cost depends on its input channels (the previous block's
width choice), its own width choice and its expand ratio, so its entries are indexed by (slot,
previous width, own width, expand ratio); the stem's by (mid width, output width, depth), the
classifier's by the last width. One slot table per resolution (arch/slot_table.py) holds the
three, flattened in that order (`ResNetSpace.slot_index` says which entries a row reads), so a
population's cost is a gather and a masked sum.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from onceforall.arch.channels import conv_output_size, slot_input_sizes
from onceforall.arch.costs import Cost, conv_cost, linear_cost
from onceforall.arch.resnet_layout import ResNetLayout
from onceforall.arch.slot_table import ResolutionTable, table_sums

if TYPE_CHECKING:
    from onceforall.arch.resnet_space import ResNetSpace


def bottleneck_cost(
    layout: ResNetLayout,
    in_channels: int,
    out_channels: int,
    in_size: int,
    stride: int,
    expand_ratio: float,
    projection: bool,
) -> Cost:
    """1x1 -> 3x3 (stride) -> 1x1, plus the projection shortcut's 1x1 conv when there is one."""
    mid = layout.mid_channels(out_channels, expand_ratio)
    out_size = conv_output_size(in_size, 3, stride)
    cost = conv_cost(in_channels, mid, 1, in_size, batch_norm=True)
    cost += conv_cost(mid, mid, 3, out_size, batch_norm=True)
    cost += conv_cost(mid, out_channels, 1, out_size, batch_norm=True)
    if projection:
        cost += conv_cost(in_channels, out_channels, 1, out_size, batch_norm=True)
    return cost


def stem_cost(layout: ResNetLayout, resolution: int, mid: int, out: int, depth: int) -> Cost:
    size = conv_output_size(resolution, 3, layout.stem_stride)
    cost = conv_cost(layout.in_channels, mid, 3, size, batch_norm=True)
    if depth == 3:
        cost += conv_cost(mid, mid, 3, size, batch_norm=True)
    return cost + conv_cost(mid, out, 3, size, batch_norm=True)


def block_input_sizes(layout: ResNetLayout, resolution: int) -> tuple[list[int], int]:
    """Input size of every block slot, and the size after the last stage."""
    size = conv_output_size(resolution, 3, layout.stem_stride)
    if layout.max_pool:
        size = conv_output_size(size, 3, 2)
    return slot_input_sizes(size, ((s.stride, s.max_depth) for s in layout.stages))


@lru_cache(maxsize=1024)
def resnet_cost_tables(
    layout: ResNetLayout, resolution: int, expand_ratios: tuple[float, ...]
) -> tuple[ResolutionTable, ResolutionTable]:
    """(MACs, params) at one resolution: stem[mid, out, depth 2|3], blocks[slot, previous width,
    own width, expand], head[last width], flattened and concatenated."""
    widths = layout.width_multipliers
    n_w, n_e = len(widths), len(expand_ratios)
    stem = np.zeros((2, n_w, n_w, 2), dtype=np.int64)  # [macs|params, mid, out, depth 2|3]
    for i, mid in enumerate(widths):
        for j, out in enumerate(widths):
            for k, depth in enumerate((2, 3)):
                cost = stem_cost(
                    layout,
                    resolution,
                    layout.stem_mid_channels(mid),
                    layout.stem_channels(out),
                    depth,
                )
                stem[:, i, j, k] = (cost.macs, cost.params)
    sizes, _ = block_input_sizes(layout, resolution)
    blocks = np.zeros((2, layout.num_slots, n_w, n_w, n_e), dtype=np.int64)
    slot = 0
    for s, stage in enumerate(layout.stages):
        for position in range(stage.max_depth):
            first = position == 0
            ins = layout.stage_in_choices(s) if first else layout.stage_out_choices(s)
            for i, cin in enumerate(ins):
                for j, out in enumerate(layout.stage_out_choices(s)):
                    for k, ratio in enumerate(expand_ratios):
                        cost = bottleneck_cost(
                            layout,
                            cin,
                            out,
                            sizes[slot],
                            stage.stride if first else 1,
                            ratio,
                            layout.has_projection(s, position),
                        )
                        blocks[:, slot, i, j, k] = (cost.macs, cost.params)
            slot += 1
    head = np.zeros((2, n_w), dtype=np.int64)
    for i, out in enumerate(layout.stage_out_choices(len(layout.stages) - 1)):
        cost = linear_cost(out, layout.num_classes)
        head[:, i] = (cost.macs, cost.params)
    macs, params = (np.concatenate([stem[m].ravel(), blocks[m].ravel(), head[m]]) for m in (0, 1))
    return ResolutionTable(resolution, 0, macs), ResolutionTable(resolution, 0, params)


def resnet_costs(space: ResNetSpace, population: np.ndarray, which: int) -> np.ndarray:
    """MACs (`which` 0) or params (1) of every row of `space`'s population matrix (int64)."""
    index = space.slot_index(population)

    def table_at(resolution: int) -> ResolutionTable:
        return resnet_cost_tables(space.layout, resolution, space.expand_ratios)[which]

    return table_sums(index, np.asarray(population)[:, 0], table_at, np.int64)
