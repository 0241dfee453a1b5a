"""The elastic stand-ins that replace a user's layers, and their export back to stock layers.

Each keeps the user's parameter names (`weight`, `bias`), so the elastified network's state dict
holds the user's keys (plus kernel-transformation matrices). Input channels always follow the
input tensor; output channels and kernel size are attributes the supernet sets in `set_arch`
(never in `forward`). At their largest setting they compute exactly what the user's layers did.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from onceforall.nn.elastic import KernelTransform
from onceforall.nn.ops import slice_channels, transform_kernel


class ElastifiedConv2d(nn.Module):
    """A user's `nn.Conv2d` with elastic output channels (dense) or channels following the input
    (depthwise), and optionally elastic odd kernel sizes ("same" padding)."""

    def __init__(
        self,
        conv: nn.Conv2d,
        kernel_sizes: Sequence[int] = (),
        kernel_transform: KernelTransform = "matrix",
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(conv.weight.detach().clone())
        self.bias = None if conv.bias is None else nn.Parameter(conv.bias.detach().clone())
        self.stride = conv.stride
        self.padding = conv.padding
        self.dilation = conv.dilation
        self.groups = conv.groups
        self.depthwise = conv.groups > 1 and conv.groups == conv.in_channels == conv.out_channels
        full = conv.kernel_size[0]
        self.kernel_sizes = tuple(sorted(set(kernel_sizes) | {full}))
        self.kernel_transforms: nn.ParameterDict | None = None
        if len(self.kernel_sizes) > 1 and kernel_transform == "matrix":
            self.kernel_transforms = nn.ParameterDict(
                {
                    f"{larger}to{smaller}": nn.Parameter(torch.eye(smaller * smaller))
                    for larger, smaller in zip(
                        self.kernel_sizes[1:], self.kernel_sizes, strict=False
                    )
                }
            )
        self.active_out_channels = conv.out_channels
        self.active_kernel_size = full

    def kernel(self, in_channels: int) -> tuple[Tensor, int]:
        """The active weight for `in_channels` input channels, and the groups to use."""
        if self.depthwise:
            weight, groups = self.weight[:in_channels], in_channels
        elif self.groups > 1:
            weight, groups = self.weight, self.groups
        else:
            weight, groups = slice_channels(self.weight, self.active_out_channels, in_channels), 1
        if self.active_kernel_size != weight.shape[-1]:
            matrices = (
                None if self.kernel_transforms is None else dict(self.kernel_transforms.items())
            )
            weight = transform_kernel(weight, self.active_kernel_size, self.kernel_sizes, matrices)
        return weight, groups

    def _padding(self) -> tuple[int, ...] | str | int:
        if self.active_kernel_size == self.kernel_sizes[-1]:
            return self.padding
        return self.active_kernel_size // 2

    def forward(self, x: Tensor) -> Tensor:
        weight, groups = self.kernel(x.shape[1])
        bias = None if self.bias is None else self.bias[: weight.shape[0]]
        return F.conv2d(x, weight, bias, self.stride, self._padding(), self.dilation, groups)

    @torch.no_grad()
    def export(self, in_channels: int) -> nn.Conv2d:
        weight, groups = self.kernel(in_channels)
        conv = nn.Conv2d(
            weight.shape[1] * groups,
            weight.shape[0],
            self.active_kernel_size,
            self.stride,  # type: ignore[arg-type]
            self._padding(),  # type: ignore[arg-type]
            self.dilation,  # type: ignore[arg-type]
            groups,
            bias=self.bias is not None,
        ).to(self.weight)
        conv.weight.copy_(weight)
        if self.bias is not None and conv.bias is not None:
            conv.bias.copy_(self.bias[: weight.shape[0]])
        return conv


class ElastifiedLinear(nn.Module):
    """A user's `nn.Linear` whose input features follow the input and whose outputs are elastic."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.weight = nn.Parameter(linear.weight.detach().clone())
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().clone())
        self.active_out_features = linear.out_features

    def forward(self, x: Tensor) -> Tensor:
        weight = slice_channels(self.weight, self.active_out_features, x.shape[-1])
        bias = None if self.bias is None else self.bias[: self.active_out_features]
        return F.linear(x, weight, bias)

    @torch.no_grad()
    def export(self, in_features: int) -> nn.Linear:
        weight = slice_channels(self.weight, self.active_out_features, in_features)
        linear = nn.Linear(weight.shape[1], weight.shape[0], bias=self.bias is not None)
        linear = linear.to(self.weight)
        linear.weight.copy_(weight)
        if self.bias is not None and linear.bias is not None:
            linear.bias.copy_(self.bias[: weight.shape[0]])
        return linear


class ElasticSequential(nn.Sequential):
    """A user's `nn.Sequential` that runs its first `active_depth` children."""

    def __init__(self, sequential: nn.Sequential) -> None:
        super().__init__(OrderedDict(sequential.named_children()))
        self.active_depth = len(sequential)

    def forward(self, x: Tensor) -> Tensor:
        for index, module in enumerate(self):
            if index >= self.active_depth:
                break
            x = module(x)
        return x
