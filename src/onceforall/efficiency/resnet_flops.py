"""Analytic MACs and parameters of OFA-ResNet sub-networks, vectorized over populations.

Counted as for the other families (efficiency/flops.py): convolutions and the classifier; batch
norm, activations, pooling and additions are free. A bottleneck's cost depends on its input
channels (the previous block's width choice), its own width choice and its expand ratio, so the
tables are indexed by (slot, previous width, own width, expand ratio); the stem's by (mid width,
output width, depth). A population's cost is a few gathers and a masked sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from onceforall.arch.channels import conv_output_size, slot_input_sizes
from onceforall.arch.genome import check_population, choice_index
from onceforall.arch.resnet_layout import ResNetLayout
from onceforall.efficiency.flops import Cost, conv_cost, linear_cost

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


def block_input_sizes(layout: ResNetLayout, resolution: int) -> list[int]:
    """Input size of every block slot."""
    size = conv_output_size(resolution, 3, layout.stem_stride)
    if layout.max_pool:
        size = conv_output_size(size, 3, 2)
    sizes, _ = slot_input_sizes(size, ((s.stride, s.max_depth) for s in layout.stages))
    return sizes


@dataclass(frozen=True)
class _Tables:
    """Costs at one resolution: stem[mid, out, depth], blocks[slot, prev, own, expand], head[w]."""

    stem: np.ndarray
    blocks: np.ndarray
    head: np.ndarray


class ResNetCostModel:
    """Cost tables of one layout, built once per resolution and expand-ratio set."""

    def __init__(self, layout: ResNetLayout) -> None:
        self.layout = layout
        self._tables: dict[tuple[int, tuple[float, ...]], tuple[_Tables, _Tables]] = {}

    def _build(self, resolution: int, expand_ratios: tuple[float, ...]) -> tuple[_Tables, _Tables]:
        layout = self.layout
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
        sizes = block_input_sizes(layout, resolution)
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
        macs = _Tables(stem[0], blocks[0], head[0])
        return macs, _Tables(stem[1], blocks[1], head[1])

    def _table(self, resolution: int, expand_ratios: tuple[float, ...], which: int) -> _Tables:
        key = (resolution, expand_ratios)
        if key not in self._tables:
            self._tables[key] = self._build(resolution, expand_ratios)
        return self._tables[key][which]

    def _evaluate(self, space: ResNetSpace, population: np.ndarray, which: int) -> np.ndarray:
        from onceforall.arch.resnet_space import scaled

        population = check_population(space, population).astype(np.int64)
        n = len(population)
        all_rows = np.ones((n, 1), dtype=bool)
        widths = scaled(self.layout.width_multipliers)

        def index(name: str, choices: tuple[int, ...], active: np.ndarray) -> np.ndarray:
            return choice_index(population[:, space.column(name)], choices, active, name)

        mid = index("stem_mid_width", widths, all_rows)[:, 0]
        out = index("stem_width", widths, all_rows)[:, 0]
        depth = choice_index(population[:, space.column("stem_depth")], (2, 3), all_rows, "stem")
        stage_w = index("width", widths, np.ones((n, space.num_stages), dtype=bool))
        active = space.active_slots(population)
        ratios = index("expand_ratio", scaled(space.expand_ratios), active)
        # each slot's own width is its stage's; the first slot of a stage reads the previous
        # stage's width (the stem's for stage 0), later slots their own stage's
        own = stage_w[:, space.slot_stage]
        previous = np.concatenate([out[:, None], stage_w], axis=1)[:, space.slot_stage]
        prev = np.where(space.slot_position[None, :] == 0, previous, own)
        slots = np.arange(self.layout.num_slots)[None, :]
        total = np.zeros(n, dtype=np.int64)
        for resolution in np.unique(population[:, 0]).tolist():
            rows = population[:, 0] == resolution
            t = self._table(int(resolution), space.expand_ratios, which)
            gathered = t.blocks[slots, prev[rows], own[rows], ratios[rows]]
            total[rows] = (
                t.stem[mid[rows], out[rows], depth[rows, 0]]
                + (gathered * active[rows]).sum(axis=1)
                + t.head[stage_w[rows, -1]]
            )
        return total

    def macs(self, space: ResNetSpace, population: np.ndarray) -> np.ndarray:
        return self._evaluate(space, population, 0)

    def params(self, space: ResNetSpace, population: np.ndarray) -> np.ndarray:
        return self._evaluate(space, population, 1)


@lru_cache(maxsize=64)
def resnet_cost_model(layout: ResNetLayout) -> ResNetCostModel:
    return ResNetCostModel(layout)
