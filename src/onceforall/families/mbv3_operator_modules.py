"""Each latency operator as the small static torch module a sub-network runs for it.

Built from the same pieces as the exported networks (nn/blocks.py, models/mbv3.py's Head), with
fresh weights: latency does not depend on the values.
"""

from __future__ import annotations

from torch import nn

from onceforall.arch.channels import make_divisible
from onceforall.arch.mbv3_layout import Activation, MBv3Layout
from onceforall.errors import LatencyTableError
from onceforall.families.mbv3_operators import BlockOp, HeadOp, StemOp
from onceforall.families.operators import Operator
from onceforall.models.mbv3 import Head
from onceforall.nn.blocks import MBConv, SqueezeExcite, conv_bn_act


def _activation(name: str) -> Activation:
    if name not in ("relu", "relu6", "hswish"):
        raise LatencyTableError(f"unknown activation {name!r} in a latency operator")
    return name  # type: ignore[return-value]


def block_module(op: BlockOp, layout: MBv3Layout) -> MBConv:
    act = _activation(op.activation)
    se = None
    if op.use_se:
        hidden = make_divisible(op.mid_channels // layout.se_reduction, layout.channel_divisor)
        se = SqueezeExcite(
            nn.Conv2d(op.mid_channels, hidden, 1), nn.Conv2d(hidden, op.mid_channels, 1)
        )
    expand = (
        conv_bn_act(op.in_channels, op.mid_channels, 1, 1, act, bn=layout.bn)
        if op.expand_conv
        else None
    )
    return MBConv(
        expand=expand,
        depthwise=conv_bn_act(
            op.mid_channels,
            op.mid_channels,
            op.kernel_size,
            op.stride,
            act,
            groups=op.mid_channels,
            bn=layout.bn,
        ),
        se=se,
        project=conv_bn_act(op.mid_channels, op.out_channels, 1, 1, None, bn=layout.bn),
        residual=op.residual,
    )


def head_module(op: HeadOp, layout: MBv3Layout) -> Head:
    head = layout.head
    expected = (
        layout.stages[-1].out_channels,
        head.pre_pool_channels or 0,
        head.post_pool_channels or 0,
        head.num_classes,
        head.activation,
    )
    got = (
        op.in_channels,
        op.pre_pool_channels,
        op.post_pool_channels,
        op.num_classes,
        op.activation,
    )
    if got != expected:
        raise LatencyTableError(f"head operator {got} does not belong to the layout {expected}")
    return Head(layout, dropout=0.0)


def operator_module(op: Operator, layout: MBv3Layout) -> tuple[nn.Module, tuple[int, int, int]]:
    """The module of `op` and its input shape (channels, height, width), batch excluded."""
    shape = (op.in_channels, op.input_size, op.input_size)
    if isinstance(op, StemOp):
        conv = conv_bn_act(
            op.in_channels,
            op.out_channels,
            op.kernel_size,
            op.stride,
            _activation(op.activation),
            bn=layout.bn,
        )
        return conv, shape
    if isinstance(op, BlockOp):
        return block_module(op, layout), shape
    if isinstance(op, HeadOp):
        return head_module(op, layout), shape
    raise LatencyTableError(f"{op.kind} is not a MobileNet-style operator")
