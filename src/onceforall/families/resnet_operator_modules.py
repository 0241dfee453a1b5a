"""Each OFA-ResNet latency operator as the small static torch module a sub-network runs for it.

Built from the modules the exported networks are made of (nn/resnet_blocks.py's ResNetStem and
Bottleneck, the max pool and the pooled classifier of models/resnet.py), with fresh weights:
latency does not depend on the values.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from onceforall.arch.resnet_layout import ResNetLayout
from onceforall.errors import LatencyTableError
from onceforall.families.operators import Operator
from onceforall.families.resnet_operators import BottleneckOp, ResNetHeadOp, ResNetStemOp
from onceforall.models.resnet import max_pool
from onceforall.nn.blocks import conv_bn_act
from onceforall.nn.elastic_linear import PooledClassifier
from onceforall.nn.resnet_blocks import Bottleneck, ResNetStem


def stem_module(op: ResNetStemOp, layout: ResNetLayout) -> nn.Module:
    bn = layout.bn
    stem = ResNetStem(
        conv_bn_act(op.in_channels, op.mid_channels, 3, op.stride, "relu", bn=bn),
        conv_bn_act(op.mid_channels, op.mid_channels, 3, 1, "relu", bn=bn)
        if op.depth == 3
        else None,
        conv_bn_act(op.mid_channels, op.out_channels, 3, 1, "relu", bn=bn),
    )
    return nn.Sequential(stem, max_pool(op.max_pool))


def bottleneck_module(op: BottleneckOp, layout: ResNetLayout) -> Bottleneck:
    bn = layout.bn
    downsample = None
    if op.projection:
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        if op.stride > 1:
            layers["avg_pool"] = nn.AvgPool2d(op.stride, op.stride, 0, ceil_mode=True)
        layers["conv"] = nn.Conv2d(op.in_channels, op.out_channels, 1, 1, 0, bias=False)
        layers["bn"] = nn.BatchNorm2d(op.out_channels, eps=bn.eps, momentum=bn.momentum)
        downsample = nn.Sequential(layers)
    return Bottleneck(
        conv_bn_act(op.in_channels, op.mid_channels, 1, 1, "relu", bn=bn),
        conv_bn_act(op.mid_channels, op.mid_channels, 3, op.stride, "relu", bn=bn),
        conv_bn_act(op.mid_channels, op.out_channels, 1, 1, None, bn=bn),
        downsample,
    )


def resnet_operator_module(
    op: Operator, layout: ResNetLayout
) -> tuple[nn.Module, tuple[int, int, int]]:
    """The module of `op` and its input shape (channels, height, width), batch excluded."""
    shape = (op.in_channels, op.input_size, op.input_size)
    if isinstance(op, ResNetStemOp):
        return stem_module(op, layout), shape
    if isinstance(op, BottleneckOp):
        return bottleneck_module(op, layout), shape
    if isinstance(op, ResNetHeadOp):
        return PooledClassifier(nn.Linear(op.in_channels, op.num_classes), 0.0), shape
    raise LatencyTableError(f"{op.kind} is not an OFA-ResNet operator")
