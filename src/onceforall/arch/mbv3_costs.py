"""Analytic MACs and parameter counts of MobileNet-style sub-networks, vectorized (torch-free).

Counted as arch/costs.py says. The channels of every block slot are fixed by the layout, so a
block's cost depends only on its slot, the resolution, its kernel size and its expand ratio: one
slot table per resolution (arch/slot_table.py), and the cost of a population is a gather and a
masked sum.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from onceforall.arch.channels import conv_output_size, make_divisible, slot_input_sizes
from onceforall.arch.costs import ZERO, Cost, conv_cost, linear_cost, squeeze_excite_cost
from onceforall.arch.mbv3_layout import MBv3Layout
from onceforall.arch.slot_table import ResolutionTable, table_sums

if TYPE_CHECKING:
    from onceforall.arch.mbv3 import MBv3Space


def inverted_residual_cost(
    layout: MBv3Layout,
    in_channels: int,
    out_channels: int,
    in_size: int,
    stride: int,
    kernel_size: int,
    expand_ratio: int,
    use_se: bool,
) -> Cost:
    """Expand 1x1 (absent at ratio 1) -> depthwise kxk -> [squeeze-excite] -> project 1x1."""
    divisor = layout.channel_divisor
    mid = make_divisible(round(in_channels * expand_ratio), divisor)
    out_size = conv_output_size(in_size, kernel_size, stride)
    cost = ZERO
    if expand_ratio != 1:
        cost += conv_cost(in_channels, mid, 1, in_size, batch_norm=True)
    else:
        mid = in_channels
    cost += conv_cost(mid, mid, kernel_size, out_size, groups=mid, batch_norm=True)
    if use_se:
        cost += squeeze_excite_cost(mid, layout.se_reduction, divisor)
    return cost + conv_cost(mid, out_channels, 1, out_size, batch_norm=True)


def stage_input_sizes(layout: MBv3Layout, resolution: int) -> tuple[int, list[int], int]:
    """(size after the stem, input size of every block slot, size after the last stage)."""
    size = conv_output_size(resolution, layout.stem.kernel_size, layout.stem.stride)
    size = conv_output_size(size, layout.first_block.kernel_size, layout.first_block.stride)
    slot_sizes, final = slot_input_sizes(size, ((s.stride, s.max_depth) for s in layout.stages))
    return size, slot_sizes, final


def fixed_cost(layout: MBv3Layout, resolution: int) -> Cost:
    """Stem, first block and head: the part of the network that is not elastic."""
    stem = layout.stem
    size = conv_output_size(resolution, stem.kernel_size, stem.stride)
    cost = conv_cost(layout.in_channels, stem.out_channels, stem.kernel_size, size, batch_norm=True)
    first = layout.first_block
    cost += inverted_residual_cost(
        layout,
        stem.out_channels,
        first.out_channels,
        size,
        first.stride,
        first.kernel_size,
        1,
        first.use_se,
    )
    _, _, final_size = stage_input_sizes(layout, resolution)
    head = layout.head
    channels = layout.stages[-1].out_channels
    if head.pre_pool_channels is not None:
        cost += conv_cost(channels, head.pre_pool_channels, 1, final_size, batch_norm=True)
        channels = head.pre_pool_channels
    if head.post_pool_channels is not None:
        cost += conv_cost(channels, head.post_pool_channels, 1, 1)
        channels = head.post_pool_channels
    return cost + linear_cost(channels, head.num_classes)


@lru_cache(maxsize=1024)
def mbv3_cost_tables(
    layout: MBv3Layout,
    resolution: int,
    kernel_sizes: tuple[int, ...],
    expand_ratios: tuple[int, ...],
) -> tuple[ResolutionTable, ResolutionTable]:
    """(MACs, params) at one resolution: one value per (slot, kernel index, expand index)."""
    _, slot_sizes, _ = stage_input_sizes(layout, resolution)
    shape = (layout.num_slots, len(kernel_sizes), len(expand_ratios))
    macs = np.zeros(shape, dtype=np.int64)
    params = np.zeros(shape, dtype=np.int64)
    slot = 0
    for s, stage in enumerate(layout.stages):
        for position in range(stage.max_depth):
            cin = layout.stage_in_channels(s) if position == 0 else stage.out_channels
            stride = stage.stride if position == 0 else 1
            for i, k in enumerate(kernel_sizes):
                for j, e in enumerate(expand_ratios):
                    cost = inverted_residual_cost(
                        layout,
                        cin,
                        stage.out_channels,
                        slot_sizes[slot],
                        stride,
                        k,
                        e,
                        stage.use_se,
                    )
                    macs[slot, i, j] = cost.macs
                    params[slot, i, j] = cost.params
            slot += 1
    fixed = fixed_cost(layout, resolution)
    return (
        ResolutionTable(resolution, fixed.macs, macs),
        ResolutionTable(resolution, fixed.params, params),
    )


def mbv3_costs(space: MBv3Space, population: np.ndarray, which: int) -> np.ndarray:
    """MACs (`which` 0) or params (1) of every row of `space`'s population matrix (int64)."""
    index = space.slot_index(population)

    def table_at(resolution: int) -> ResolutionTable:
        tables = mbv3_cost_tables(space.layout, resolution, space.kernel_sizes, space.expand_ratios)
        return tables[which]

    return table_sums(index, np.asarray(population)[:, 0], table_at, np.int64)
