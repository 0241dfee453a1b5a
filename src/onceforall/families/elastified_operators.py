"""Latency operators of an elastified network: one per convolution or linear layer (torch-free).

Each layer of the space's slot table, at each (input width, output width, kernel) entry, runs one
convolution (or linear layer) whose latency depends only on its shape. Batch norms, activations,
pooling and additions are not timed separately: their share is in the fitted correction of
`ofa latency validate` (which scales the table to whole networks).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar

from onceforall.arch.elastified import ElastifiedSpace
from onceforall.families.operators import FlatOperatorGrid, Operator


@dataclass(frozen=True)
class ElastifiedConvOp:
    """One convolution: channels, kernel, stride, padding, groups ("dw" = depthwise)."""

    kind: ClassVar[str] = "conv"
    labels: ClassVar[tuple[str, ...]] = ("in", "out", "k", "s", "p", "g")

    input_size: int
    in_channels: int
    out_channels: int
    kernel: int
    stride: int
    padding: int
    groups: int


@dataclass(frozen=True)
class ElastifiedLinearOp:
    """One linear layer on (batch, features)."""

    kind: ClassVar[str] = "linear"
    labels: ClassVar[tuple[str, ...]] = ("in", "out")

    input_size: int
    in_channels: int
    out_channels: int


ELASTIFIED_OPERATOR_TYPES: tuple[type[Any], ...] = (ElastifiedConvOp, ElastifiedLinearOp)


def elastified_operator_grid(space: ElastifiedSpace, resolution: int) -> FlatOperatorGrid:
    """The operator of every slot-table entry at `resolution` (None where nothing runs)."""
    at = space.resolutions.index(resolution)
    _, most_in, most_out, most_kernel = space.slot_table_shape
    entries: list[Operator | None] = []
    for term, layer in enumerate(space.layers):
        ins, outs, kernels = space.entry_choices(term)
        for i, o, k in itertools.product(range(most_in), range(most_out), range(most_kernel)):
            reachable = i < len(ins) and o < len(outs) and k < len(kernels)
            same_gene = layer.in_gene is not None and layer.in_gene == layer.out_gene
            if not reachable or (same_gene and i != o) or layer.kind in ("batchnorm", "other"):
                entries.append(None)
            elif layer.kind == "linear":
                entries.append(ElastifiedLinearOp(1, ins[i], outs[o]))
            else:
                kernel = kernels[k]
                padding = layer.padding if kernel == layer.kernel_size else kernel // 2
                groups = ins[i] if layer.kind == "depthwise" else layer.groups
                out = ins[i] if layer.kind == "depthwise" else outs[o]
                entries.append(
                    ElastifiedConvOp(
                        layer.input_sizes[at], ins[i], out, kernel, layer.stride, padding, groups
                    )
                )
    return FlatOperatorGrid(resolution, (), tuple(entries), space.slot_table_shape)
