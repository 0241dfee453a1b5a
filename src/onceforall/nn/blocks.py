"""The inverted-residual block: static twin (stock modules) and elastic version (shared weights).

Both have the same child names (`expand`, `depthwise`, `se`, `project`, each with `conv`/`bn`),
so parameter paths agree and the elastic block's `export()` is the static one with sliced,
cloned weights.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Sequence
from typing import Generic, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from onceforall.arch.channels import make_divisible
from onceforall.arch.mbv3 import MBv3Block
from onceforall.arch.mbv3_layout import Activation, BatchNormSettings
from onceforall.nn.activations import build_activation
from onceforall.nn.elastic import (
    ElasticBatchNorm2d,
    ElasticConv2d,
    ElasticDepthwiseConv2d,
    ElasticSqueezeExcite,
    KernelTransform,
)


def conv_bn_act(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int,
    activation: Activation | None,
    *,
    groups: int = 1,
    bn: BatchNormSettings = BatchNormSettings(),
) -> nn.Sequential:
    """Conv (no bias) + BN (+ activation) as a stock nn.Sequential with children conv/bn/act."""
    layers: OrderedDict[str, nn.Module] = OrderedDict(
        conv=nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            kernel_size // 2,
            groups=groups,
            bias=False,
        ),
        bn=nn.BatchNorm2d(out_channels, eps=bn.eps, momentum=bn.momentum),
    )
    if activation is not None:
        layers["act"] = build_activation(activation)
    return nn.Sequential(layers)


class SqueezeExcite(nn.Module):
    """Static squeeze-excite: pool -> 1x1 reduce -> ReLU -> 1x1 expand -> hard sigmoid -> scale."""

    def __init__(self, reduce: nn.Conv2d, expand: nn.Conv2d) -> None:
        super().__init__()
        self.reduce = reduce
        self.expand = expand

    def forward(self, x: Tensor) -> Tensor:
        scale = x.mean((2, 3), keepdim=True)
        scale = F.hardsigmoid(self.expand(F.relu(self.reduce(scale))))
        return x * scale


class MBConv(nn.Module):
    """Static inverted residual: [expand 1x1] -> depthwise kxk -> [SE] -> project 1x1 (+ x)."""

    def __init__(
        self,
        expand: nn.Sequential | None,
        depthwise: nn.Sequential,
        se: SqueezeExcite | None,
        project: nn.Sequential,
        residual: bool,
    ) -> None:
        super().__init__()
        self.expand = expand
        self.depthwise = depthwise
        self.se = se
        self.project = project
        self.residual = residual

    def forward(self, x: Tensor) -> Tensor:
        out = x if self.expand is None else self.expand(x)
        out = self.depthwise(out)
        if self.se is not None:
            out = self.se(out)
        out = self.project(out)
        return x + out if self.residual else out


def fixed_mbconv(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int,
    activation: Activation,
    use_se: bool,
    *,
    se_reduction: int = 4,
    divisor: int = 8,
    bn: BatchNormSettings = BatchNormSettings(),
) -> MBConv:
    """A freshly initialized static block with expand ratio 1 (the first block of both families)."""
    se = None
    if use_se:
        hidden = make_divisible(in_channels // se_reduction, divisor)
        se = SqueezeExcite(nn.Conv2d(in_channels, hidden, 1), nn.Conv2d(hidden, in_channels, 1))
    return MBConv(
        expand=None,
        depthwise=conv_bn_act(
            in_channels, in_channels, kernel_size, stride, activation, groups=in_channels, bn=bn
        ),
        se=se,
        project=conv_bn_act(in_channels, out_channels, 1, 1, None, bn=bn),
        residual=stride == 1 and in_channels == out_channels,
    )


ConvT = TypeVar("ConvT", ElasticConv2d, ElasticDepthwiseConv2d)


class ElasticConvBN(nn.Module, Generic[ConvT]):
    """Holder of an elastic conv, its BN and activation under the names of the static twin."""

    def __init__(self, conv: ConvT, bn: ElasticBatchNorm2d, act: nn.Module | None) -> None:
        super().__init__()
        self.conv: ConvT = conv
        self.bn = bn
        self.act = act if act is not None else nn.Identity()
        self.has_act = act is not None

    def forward(self, x: Tensor, setting: int) -> Tensor:
        """act(bn(conv(x, setting))); `setting`: output channels or kernel size, per conv type."""
        return self.act(self.bn(self.conv(x, setting)))

    @torch.no_grad()
    def export_with(self, conv: nn.Conv2d) -> nn.Sequential:
        """The static twin around an exported `conv`: conv, its BN slice [, a copy of act]."""
        layers: OrderedDict[str, nn.Module] = OrderedDict(
            conv=conv, bn=self.bn.export(conv.out_channels)
        )
        if self.has_act:
            layers["act"] = copy.deepcopy(self.act)
        return nn.Sequential(layers)


class ElasticMBConv(nn.Module):
    """Inverted residual with elastic kernel size and expand ratio (channels sorted by importance).

    The active setting is chosen by `set_active` (called by the supernet's `set_arch`); `forward`
    only reads it.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_sizes: Sequence[int],
        expand_ratios: Sequence[int],
        stride: int,
        activation: Activation,
        use_se: bool,
        *,
        se_reduction: int = 4,
        divisor: int = 8,
        bn: BatchNormSettings = BatchNormSettings(),
        kernel_transform: KernelTransform = "matrix",
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_sizes = tuple(sorted(set(kernel_sizes)))
        self.expand_ratios = tuple(sorted(set(expand_ratios)))
        if self.expand_ratios[0] <= 1:
            raise ValueError("elastic blocks need expand ratios > 1")
        self.mid_channels = {
            e: make_divisible(round(in_channels * e), divisor) for e in self.expand_ratios
        }
        max_mid = self.mid_channels[self.expand_ratios[-1]]
        self.stride = stride
        self.residual = stride == 1 and in_channels == out_channels
        self.expand: ElasticConvBN[ElasticConv2d] = ElasticConvBN(
            ElasticConv2d(in_channels, max_mid),
            ElasticBatchNorm2d(max_mid, bn.eps, bn.momentum),
            build_activation(activation),
        )
        self.depthwise: ElasticConvBN[ElasticDepthwiseConv2d] = ElasticConvBN(
            ElasticDepthwiseConv2d(max_mid, self.kernel_sizes, stride, kernel_transform),
            ElasticBatchNorm2d(max_mid, bn.eps, bn.momentum),
            build_activation(activation),
        )
        self.se = ElasticSqueezeExcite(max_mid, se_reduction, divisor) if use_se else None
        self.project: ElasticConvBN[ElasticConv2d] = ElasticConvBN(
            ElasticConv2d(max_mid, out_channels),
            ElasticBatchNorm2d(out_channels, bn.eps, bn.momentum),
            None,
        )
        self.kernel_size = self.kernel_sizes[-1]
        self.expand_ratio = self.expand_ratios[-1]

    def set_active(self, block: MBv3Block) -> None:
        if (
            block.kernel_size not in self.kernel_sizes
            or block.expand_ratio not in self.expand_ratios
        ):
            raise ValueError(f"{block} is not a setting of this block")
        self.kernel_size = block.kernel_size
        self.expand_ratio = block.expand_ratio

    @property
    def active(self) -> MBv3Block:
        return MBv3Block(self.kernel_size, self.expand_ratio)

    def forward(self, x: Tensor) -> Tensor:
        mid = self.mid_channels[self.expand_ratio]
        out = self.depthwise(self.expand(x, mid), self.kernel_size)
        if self.se is not None:
            out = self.se(out)
        out = self.project(out, self.out_channels)
        return x + out if self.residual else out

    @torch.no_grad()
    def export(self) -> MBConv:
        """The active setting as a static block with cloned weights."""
        mid = self.mid_channels[self.expand_ratio]
        se = None
        if self.se is not None:
            hidden = self.se.hidden_channels(mid)
            se = SqueezeExcite(
                self.se.reduce.export(mid, hidden), self.se.expand.export(hidden, mid)
            )
        return MBConv(
            expand=self.expand.export_with(self.expand.conv.export(self.in_channels, mid)),
            depthwise=self.depthwise.export_with(self.depthwise.conv.export(mid, self.kernel_size)),
            se=se,
            project=self.project.export_with(self.project.conv.export(mid, self.out_channels)),
            residual=self.residual,
        )
