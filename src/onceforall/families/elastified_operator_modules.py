"""Each elastified latency operator as the stock torch module a sub-network runs for it."""

from __future__ import annotations

from typing import Any

from torch import nn

from onceforall.errors import LatencyTableError
from onceforall.families.elastified_operators import ElastifiedConvOp, ElastifiedLinearOp
from onceforall.families.operators import Operator


def elastified_operator_module(op: Operator, layout: Any) -> tuple[nn.Module, tuple[int, int, int]]:
    """(module, input shape without the batch) of an operator; fresh weights (latency does not
    depend on their values)."""
    if isinstance(op, ElastifiedConvOp):
        conv = nn.Conv2d(
            op.in_channels, op.out_channels, op.kernel, op.stride, op.padding, groups=op.groups
        )
        return conv, (op.in_channels, op.input_size, op.input_size)
    if isinstance(op, ElastifiedLinearOp):
        return nn.Sequential(nn.Flatten(), nn.Linear(op.in_channels, op.out_channels)), (
            op.in_channels,
            1,
            1,
        )
    raise LatencyTableError(f"not an elastified operator: {op}")
