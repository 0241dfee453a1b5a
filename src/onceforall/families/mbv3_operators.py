"""The operators a latency table measures, as frozen values with stable string keys (torch-free).

A MobileNet-style network is a stem, a fixed first block, elastic blocks and a head. A block's
latency depends only on its shape (input size and channels, expanded width, kernel, stride,
squeeze-excite, residual, activation), so many block slots share one operator: in a stage, every
slot after the first has the same shape. `mbv3_operator_grid` lists, for one resolution, the
operator of every (slot, kernel size, expand ratio) and the fixed ones; a table measures each
distinct operator once.

Keys (families/operators.py) read like
`mbconv-in:14x14x40-mid:160-out:40-k:5-s:1-expand:1-se:1-res:1-act:relu`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from onceforall.arch.channels import conv_output_size, make_divisible
from onceforall.arch.mbv3_costs import stage_input_sizes
from onceforall.arch.mbv3_layout import MBv3Layout
from onceforall.families.operators import Operator


@dataclass(frozen=True)
class StemOp:
    """Conv + BN + activation on the input image."""

    kind: ClassVar[str] = "stem"
    labels: ClassVar[tuple[str, ...]] = ("in", "out", "k", "s", "act")

    input_size: int
    in_channels: int
    out_channels: int
    kernel_size: int
    stride: int
    activation: str

    @property
    def output_size(self) -> int:
        return conv_output_size(self.input_size, self.kernel_size, self.stride)


@dataclass(frozen=True)
class BlockOp:
    """Inverted residual: [expand 1x1] -> depthwise kxk -> [squeeze-excite] -> project 1x1 (+ x).

    `mid_channels` is the depthwise width; `expand_conv` is False for the first block of both
    families, whose depthwise convolution runs on the input channels.
    """

    kind: ClassVar[str] = "mbconv"
    labels: ClassVar[tuple[str, ...]] = ("in", "mid", "out", "k", "s", "expand", "se", "res", "act")

    input_size: int
    in_channels: int
    mid_channels: int
    out_channels: int
    kernel_size: int
    stride: int
    expand_conv: bool
    use_se: bool
    residual: bool
    activation: str

    @property
    def output_size(self) -> int:
        return conv_output_size(self.input_size, self.kernel_size, self.stride)


@dataclass(frozen=True)
class HeadOp:
    """[1x1 conv + BN + act] -> global pool -> [1x1 conv + act] -> linear classifier."""

    kind: ClassVar[str] = "head"
    labels: ClassVar[tuple[str, ...]] = ("in", "pre", "post", "classes", "act")

    input_size: int
    in_channels: int
    pre_pool_channels: int  # 0: absent
    post_pool_channels: int  # 0: absent
    num_classes: int
    activation: str


MBV3_OPERATOR_TYPES: tuple[type[Any], ...] = (StemOp, BlockOp, HeadOp)


@dataclass(frozen=True)
class MBv3OperatorGrid:
    """The operators of a layout at one resolution.

    `slots[slot][i][j]` runs block slot `slot` with kernel_sizes[i] and expand_ratios[j];
    `fixed` (stem, first block, head) runs in every sub-network.
    """

    resolution: int
    kernel_sizes: tuple[int, ...]
    expand_ratios: tuple[int, ...]
    stem: StemOp
    first_block: BlockOp
    head: HeadOp
    slots: tuple[tuple[tuple[BlockOp, ...], ...], ...]

    @property
    def fixed(self) -> tuple[Operator, ...]:
        return (self.stem, self.first_block, self.head)

    def operators(self) -> list[Operator]:
        """Every distinct operator, in network order."""
        seen: dict[Operator, None] = dict.fromkeys(self.fixed)
        for per_kernel in self.slots:
            for per_expand in per_kernel:
                seen.update(dict.fromkeys(per_expand))
        return list(seen)

    def slot_values(self, value_of: Mapping[Operator, float]) -> np.ndarray:
        """Float64 (slots, kernels, expands): `value_of[op]` for each slot's operator."""
        return np.array(
            [[[value_of[op] for op in row] for row in per_kernel] for per_kernel in self.slots],
            dtype=np.float64,
        ).reshape(len(self.slots), len(self.kernel_sizes), len(self.expand_ratios))


def mbv3_operator_grid(
    layout: MBv3Layout,
    resolution: int,
    kernel_sizes: tuple[int, ...],
    expand_ratios: tuple[int, ...],
) -> MBv3OperatorGrid:
    """Every operator a sub-network of `layout` at `resolution` can run."""
    stem_layout = layout.stem
    stem = StemOp(
        resolution,
        layout.in_channels,
        stem_layout.out_channels,
        stem_layout.kernel_size,
        stem_layout.stride,
        stem_layout.activation,
    )
    first = layout.first_block
    first_block = BlockOp(
        stem.output_size,
        stem.out_channels,
        stem.out_channels,
        first.out_channels,
        first.kernel_size,
        first.stride,
        expand_conv=False,
        use_se=first.use_se,
        residual=first.stride == 1 and stem.out_channels == first.out_channels,
        activation=first.activation,
    )
    _, slot_sizes, final_size = stage_input_sizes(layout, resolution)
    slots: list[tuple[tuple[BlockOp, ...], ...]] = []
    for s, stage in enumerate(layout.stages):
        for position in range(stage.max_depth):
            in_channels = layout.stage_in_channels(s) if position == 0 else stage.out_channels
            stride = stage.stride if position == 0 else 1
            slots.append(
                tuple(
                    tuple(
                        BlockOp(
                            slot_sizes[len(slots)],
                            in_channels,
                            make_divisible(round(in_channels * e), layout.channel_divisor),
                            stage.out_channels,
                            k,
                            stride,
                            expand_conv=True,
                            use_se=stage.use_se,
                            residual=stride == 1 and in_channels == stage.out_channels,
                            activation=stage.activation,
                        )
                        for e in expand_ratios
                    )
                    for k in kernel_sizes
                )
            )
    head = layout.head
    head_op = HeadOp(
        final_size,
        layout.stages[-1].out_channels,
        head.pre_pool_channels or 0,
        head.post_pool_channels or 0,
        head.num_classes,
        head.activation,
    )
    return MBv3OperatorGrid(
        resolution,
        tuple(kernel_sizes),
        tuple(expand_ratios),
        stem,
        first_block,
        head_op,
        tuple(slots),
    )
