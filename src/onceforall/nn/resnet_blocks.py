"""The OFA-ResNet modules: input stem and bottleneck, static twins and elastic versions.

Static and elastic modules have the same child names (`first`/`residual`/`last` in the stem;
`conv1`/`conv2`/`conv3`/`downsample` in a bottleneck, each with `conv`/`bn`), so parameter paths
agree and an elastic module's `export()` is its static twin with sliced, cloned weights. The
active setting is chosen by `set_active` (called by the supernet's `set_arch`); `forward` only
reads it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from onceforall.arch.mbv3_layout import BatchNormSettings
from onceforall.arch.resnet_layout import bottleneck_width
from onceforall.nn.blocks import ElasticConvBN
from onceforall.nn.elastic import ElasticBatchNorm2d, ElasticConv2d


def _elastic_conv_bn(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int,
    bn: BatchNormSettings,
    act: bool,
) -> ElasticConvBN[ElasticConv2d]:
    return ElasticConvBN(
        ElasticConv2d(in_channels, out_channels, kernel_size, stride),
        ElasticBatchNorm2d(out_channels, bn.eps, bn.momentum),
        nn.ReLU() if act else None,
    )


class ResNetStem(nn.Module):
    """Static stem: conv 3x3/s -> [x + residual conv 3x3] -> conv 3x3, each conv + BN + ReLU."""

    def __init__(
        self, first: nn.Sequential, residual: nn.Sequential | None, last: nn.Sequential
    ) -> None:
        super().__init__()
        self.first = first
        self.residual = residual
        self.last = last

    def forward(self, x: Tensor) -> Tensor:
        x = self.first(x)
        if self.residual is not None:
            x = x + self.residual(x)
        return self.last(x)


class ElasticResNetStem(nn.Module):
    """The input stem with elastic widths (mid and output) and an optional residual conv."""

    def __init__(
        self,
        in_channels: int,
        max_mid_channels: int,
        max_out_channels: int,
        stride: int,
        bn: BatchNormSettings = BatchNormSettings(),
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.first = _elastic_conv_bn(in_channels, max_mid_channels, 3, stride, bn, True)
        self.residual = _elastic_conv_bn(max_mid_channels, max_mid_channels, 3, 1, bn, True)
        self.last = _elastic_conv_bn(max_mid_channels, max_out_channels, 3, 1, bn, True)
        self.mid_channels = max_mid_channels
        self.out_channels = max_out_channels
        self.depth = 3

    def set_active(self, mid_channels: int, out_channels: int, depth: int) -> None:
        if depth not in (2, 3):
            raise ValueError(f"a stem has depth 2 or 3, got {depth}")
        self.mid_channels, self.out_channels, self.depth = mid_channels, out_channels, depth

    def forward(self, x: Tensor) -> Tensor:
        x = self.first(x, self.mid_channels)
        if self.depth == 3:
            x = x + self.residual(x, self.mid_channels)
        return self.last(x, self.out_channels)

    @torch.no_grad()
    def export(self) -> ResNetStem:
        mid, out = self.mid_channels, self.out_channels
        residual = None
        if self.depth == 3:
            residual = self.residual.export_with(self.residual.conv.export(mid, mid))
        return ResNetStem(
            self.first.export_with(self.first.conv.export(self.in_channels, mid)),
            residual,
            self.last.export_with(self.last.conv.export(mid, out)),
        )


class Bottleneck(nn.Module):
    """Static bottleneck: relu(conv3(conv2(conv1(x))) + shortcut(x)); conv2 has the stride."""

    def __init__(
        self,
        conv1: nn.Sequential,
        conv2: nn.Sequential,
        conv3: nn.Sequential,
        downsample: nn.Sequential | None,
    ) -> None:
        super().__init__()
        self.conv1 = conv1
        self.conv2 = conv2
        self.conv3 = conv3
        self.downsample = downsample
        self.act = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.act(self.conv3(self.conv2(self.conv1(x))) + shortcut)


class ElasticBottleneck(nn.Module):
    """Bottleneck with elastic output width and expand ratio (inner width = width x ratio).

    Its input width follows the previous block. With `projection`, the shortcut is an average
    pool (for stride > 1, ceil mode, as the reference) followed by a 1x1 conv + BN.
    """

    def __init__(
        self,
        max_in_channels: int,
        out_channels: Sequence[int],
        expand_ratios: Sequence[float],
        stride: int,
        projection: bool,
        *,
        divisor: int = 8,
        bn: BatchNormSettings = BatchNormSettings(),
    ) -> None:
        super().__init__()
        self.out_choices = tuple(sorted(set(out_channels)))
        self.expand_ratios = tuple(sorted(set(expand_ratios)))
        self.divisor = divisor
        self.stride = stride
        max_out = self.out_choices[-1]
        max_mid = max(self.mid_channels(o, e) for o in self.out_choices for e in self.expand_ratios)
        self.conv1 = _elastic_conv_bn(max_in_channels, max_mid, 1, 1, bn, True)
        self.conv2 = _elastic_conv_bn(max_mid, max_mid, 3, stride, bn, True)
        self.conv3 = _elastic_conv_bn(max_mid, max_out, 1, 1, bn, False)
        self.downsample = (
            _elastic_conv_bn(max_in_channels, max_out, 1, 1, bn, False) if projection else None
        )
        self.act = nn.ReLU()
        self.out_channels = max_out
        self.expand_ratio = self.expand_ratios[-1]

    def mid_channels(self, out_channels: int, expand_ratio: float) -> int:
        return bottleneck_width(out_channels, expand_ratio, self.divisor)

    def set_active(self, out_channels: int, expand_ratio: float) -> None:
        if out_channels not in self.out_choices or expand_ratio not in self.expand_ratios:
            raise ValueError(
                f"width {out_channels} / expand ratio {expand_ratio} is not a setting of this block"
            )
        self.out_channels, self.expand_ratio = out_channels, expand_ratio

    @property
    def active(self) -> tuple[int, float]:
        return self.out_channels, self.expand_ratio

    def forward(self, x: Tensor) -> Tensor:
        out_channels = self.out_channels
        mid = self.mid_channels(out_channels, self.expand_ratio)
        shortcut = x
        if self.downsample is not None:
            if self.stride > 1:
                x_pooled = F.avg_pool2d(x, self.stride, self.stride, 0, ceil_mode=True)
            else:
                x_pooled = x
            shortcut = self.downsample(x_pooled, out_channels)
        out = self.conv3(self.conv2(self.conv1(x, mid), mid), out_channels)
        return self.act(out + shortcut)

    @torch.no_grad()
    def export(self, in_channels: int) -> Bottleneck:
        """The active setting as a static block with cloned weights (input width given)."""
        out = self.out_channels
        mid = self.mid_channels(out, self.expand_ratio)
        downsample = None
        if self.downsample is not None:
            layers: OrderedDict[str, nn.Module] = OrderedDict()
            if self.stride > 1:
                layers["avg_pool"] = nn.AvgPool2d(self.stride, self.stride, 0, ceil_mode=True)
            layers["conv"] = self.downsample.conv.export(in_channels, out)
            layers["bn"] = self.downsample.bn.export(out)
            downsample = nn.Sequential(layers)
        return Bottleneck(
            self.conv1.export_with(self.conv1.conv.export(in_channels, mid)),
            self.conv2.export_with(self.conv2.conv.export(mid, mid)),
            self.conv3.export_with(self.conv3.conv.export(mid, out)),
            downsample,
        )
