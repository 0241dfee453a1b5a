"""Analytic MACs and parameter counts, vectorized over population matrices (torch-free).

MACs follow the reference implementation's ``count_net_flops``: multiply-accumulates of
convolutions (``in/groups * out * k * k * out_h * out_w``) and linear layers (``in * out``),
squeeze-excite convolutions included; batch norm, activations, pooling, additions and biases are
free. Parameters are those of the exported sub-network (kernel-transformation matrices excluded).

For the MobileNet-style families the channels of every block slot are fixed by the layout, so a
block's cost depends only on its slot, the resolution, its kernel size and its expand ratio. The
cost of a population is a table gather and a masked sum: no Python loop over networks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from onceforall.arch.channels import conv_output_size, make_divisible, slot_input_sizes
from onceforall.arch.genome import check_population, choice_index
from onceforall.arch.mbv3_layout import MBv3Layout

if TYPE_CHECKING:
    from onceforall.arch.mbv3 import MBv3Space


@dataclass(frozen=True)
class Cost:
    macs: int
    params: int

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.macs + other.macs, self.params + other.params)


ZERO = Cost(0, 0)


def conv_cost(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    out_size: int,
    *,
    groups: int = 1,
    bias: bool = False,
    batch_norm: bool = False,
) -> Cost:
    weights = in_channels // groups * out_channels * kernel_size * kernel_size
    params = weights + (out_channels if bias else 0) + (2 * out_channels if batch_norm else 0)
    return Cost(weights * out_size * out_size, params)


def linear_cost(in_features: int, out_features: int) -> Cost:
    return Cost(in_features * out_features, in_features * out_features + out_features)


def squeeze_excite_cost(channels: int, reduction: int, divisor: int) -> Cost:
    """Two 1x1 convolutions with bias on the pooled 1x1 map."""
    mid = make_divisible(channels // reduction, divisor)
    return conv_cost(channels, mid, 1, 1, bias=True) + conv_cost(mid, channels, 1, 1, bias=True)


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


@dataclass(frozen=True)
class _SlotTables:
    """Costs at one resolution: per (slot, kernel index, expand index), plus the fixed part."""

    macs: np.ndarray
    params: np.ndarray
    fixed: Cost


class MBv3CostModel:
    """Per-slot cost tables of one layout, built once per resolution and choice set."""

    def __init__(self, layout: MBv3Layout) -> None:
        self.layout = layout
        self._tables: dict[tuple[int, tuple[int, ...], tuple[int, ...]], _SlotTables] = {}

    def _table(
        self, resolution: int, kernel_sizes: tuple[int, ...], expand_ratios: tuple[int, ...]
    ) -> _SlotTables:
        key = (resolution, kernel_sizes, expand_ratios)
        if key not in self._tables:
            layout = self.layout
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
            self._tables[key] = _SlotTables(macs, params, fixed_cost(layout, resolution))
        return self._tables[key]

    def _evaluate(self, space: MBv3Space, population: np.ndarray, which: str) -> np.ndarray:
        population = check_population(space, population).astype(np.int64)
        _, k_cols, e_cols = space.columns()
        active = space.active_slots(population)
        k_index = choice_index(population[:, k_cols], space.kernel_sizes, active, "kernel_size")
        e_index = choice_index(population[:, e_cols], space.expand_ratios, active, "expand_ratio")
        slots = np.arange(self.layout.num_slots)[None, :]
        total = np.zeros(len(population), dtype=np.int64)
        for resolution in np.unique(population[:, 0]).tolist():
            rows = population[:, 0] == resolution
            tables = self._table(int(resolution), space.kernel_sizes, space.expand_ratios)
            table = tables.macs if which == "macs" else tables.params
            gathered = table[slots, k_index[rows], e_index[rows]]
            fixed = tables.fixed.macs if which == "macs" else tables.fixed.params
            total[rows] = fixed + (gathered * active[rows]).sum(axis=1)
        return total

    def macs(self, space: MBv3Space, population: np.ndarray) -> np.ndarray:
        return self._evaluate(space, population, "macs")

    def params(self, space: MBv3Space, population: np.ndarray) -> np.ndarray:
        return self._evaluate(space, population, "params")


# kept under its old name for the modules that import it from here
_value_index = choice_index


@lru_cache(maxsize=64)
def mbv3_cost_model(layout: MBv3Layout) -> MBv3CostModel:
    return MBv3CostModel(layout)
