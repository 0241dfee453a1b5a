"""Weight-sharing layers: each owns the largest weight and computes with a leading slice of it.

Parameters carry the names of the stock layer they export to (`weight`, `bias`, `running_mean`),
so a block's state dict at its largest setting loads into its exported twin as it is. The active
size is an argument of `forward` (decided by the owning block), never state written by `forward`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from onceforall.arch.channels import make_divisible
from onceforall.nn.ops import slice_channels, transform_kernel

KernelTransform = Literal["matrix", "crop"]


class ElasticConv2d(nn.Module):
    """A dense convolution whose input and output channels are leading slices."""

    def __init__(
        self,
        max_in_channels: int,
        max_out_channels: int,
        kernel_size: int = 1,
        stride: int = 1,
        bias: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride
        reference = nn.Conv2d(max_in_channels, max_out_channels, kernel_size, bias=bias)
        self.weight = nn.Parameter(reference.weight.detach().clone())
        self.bias = (
            nn.Parameter(reference.bias.detach().clone()) if reference.bias is not None else None
        )

    def forward(self, x: Tensor, out_channels: int) -> Tensor:
        weight = slice_channels(self.weight, out_channels, x.shape[1])
        bias = self.bias[:out_channels] if self.bias is not None else None
        return F.conv2d(x, weight, bias, self.stride, self.kernel_size // 2)

    @torch.no_grad()
    def export(self, in_channels: int, out_channels: int) -> nn.Conv2d:
        conv = nn.Conv2d(
            in_channels,
            out_channels,
            self.kernel_size,
            self.stride,
            self.kernel_size // 2,
            bias=self.bias is not None,
        ).to(self.weight)
        conv.weight.copy_(slice_channels(self.weight, out_channels, in_channels))
        if self.bias is not None and conv.bias is not None:
            conv.bias.copy_(self.bias[:out_channels])
        return conv


class ElasticDepthwiseConv2d(nn.Module):
    """A depthwise convolution with elastic channels and kernel size.

    Smaller kernels are the centre of the largest one, transformed by a learned matrix per step
    (``kernel_transform="matrix"``, identity at initialization, as in the paper) or plainly
    cropped (``"crop"``).
    """

    def __init__(
        self,
        max_channels: int,
        kernel_sizes: Sequence[int],
        stride: int = 1,
        kernel_transform: KernelTransform = "matrix",
    ) -> None:
        super().__init__()
        self.kernel_sizes = tuple(sorted(set(kernel_sizes)))
        self.stride = stride
        max_kernel = self.kernel_sizes[-1]
        reference = nn.Conv2d(
            max_channels, max_channels, max_kernel, groups=max_channels, bias=False
        )
        self.weight = nn.Parameter(reference.weight.detach().clone())
        self.kernel_transforms: nn.ParameterDict | None = None
        if kernel_transform == "matrix":
            self.kernel_transforms = nn.ParameterDict(
                {
                    f"{larger}to{smaller}": nn.Parameter(torch.eye(smaller * smaller))
                    for larger, smaller in zip(
                        self.kernel_sizes[1:], self.kernel_sizes, strict=False
                    )
                }
            )
        elif kernel_transform != "crop":
            raise ValueError(
                f"kernel_transform must be 'matrix' or 'crop', got {kernel_transform!r}"
            )

    def kernel(self, channels: int, kernel_size: int) -> Tensor:
        weight = slice_channels(self.weight, channels)
        if kernel_size == weight.shape[-1]:
            return weight
        matrices = (
            dict(self.kernel_transforms.items()) if self.kernel_transforms is not None else None
        )
        return transform_kernel(weight, kernel_size, self.kernel_sizes, matrices)

    def forward(self, x: Tensor, kernel_size: int) -> Tensor:
        channels = x.shape[1]
        weight = self.kernel(channels, kernel_size)
        return F.conv2d(x, weight, None, self.stride, kernel_size // 2, 1, channels)

    @torch.no_grad()
    def export(self, channels: int, kernel_size: int) -> nn.Conv2d:
        conv = nn.Conv2d(
            channels,
            channels,
            kernel_size,
            self.stride,
            kernel_size // 2,
            groups=channels,
            bias=False,
        ).to(self.weight)
        conv.weight.copy_(self.kernel(channels, kernel_size))
        return conv


class ElasticBatchNorm2d(nn.Module):
    """Batch norm over the leading `x.shape[1]` features of the largest layer.

    In training mode the running statistics of the active slice are updated in place, like
    `nn.BatchNorm2d` (momentum None = cumulative average, used for BN re-calibration). With a
    `process_group` (set by `nn.bn.synchronize_batch_norm`), training-mode statistics are computed
    over the batches of all ranks.
    """

    def __init__(self, max_features: int, eps: float = 1e-5, momentum: float | None = 0.1) -> None:
        super().__init__()
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(max_features))
        self.bias = nn.Parameter(torch.zeros(max_features))
        self.running_mean: Tensor
        self.running_var: Tensor
        self.num_batches_tracked: Tensor
        self.register_buffer("running_mean", torch.zeros(max_features))
        self.register_buffer("running_var", torch.ones(max_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        self.process_group: Any = None

    def __getstate__(self) -> dict[str, Any]:
        """Copies and pickles are local: a process group is not copied."""
        state = dict(self.__dict__)
        state["process_group"] = None
        return state

    def forward(self, x: Tensor) -> Tensor:
        c = x.shape[1]
        factor = 0.0
        if self.training:
            self.num_batches_tracked.add_(1)
            factor = (
                1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
            )
            if self.process_group is not None:
                from onceforall.nn.bn import synchronized_batch_norm

                return synchronized_batch_norm(
                    x,
                    self.running_mean[:c],
                    self.running_var[:c],
                    self.weight[:c],
                    self.bias[:c],
                    factor,
                    self.eps,
                    self.process_group,
                )
        return F.batch_norm(
            x,
            self.running_mean[:c],
            self.running_var[:c],
            self.weight[:c],
            self.bias[:c],
            self.training,
            factor,
            self.eps,
        )

    @torch.no_grad()
    def export(self, channels: int) -> nn.BatchNorm2d:
        bn = nn.BatchNorm2d(channels, eps=self.eps, momentum=self.momentum).to(self.weight)
        bn.load_state_dict(
            {
                "weight": self.weight[:channels],
                "bias": self.bias[:channels],
                "running_mean": self.running_mean[:channels],
                "running_var": self.running_var[:channels],
                "num_batches_tracked": self.num_batches_tracked,
            }
        )
        return bn


class ElasticSqueezeExcite(nn.Module):
    """Squeeze-excite whose channels follow the input and whose hidden width follows them.

    Hidden width = make_divisible(channels // reduction, divisor), as in the reference.
    """

    def __init__(self, max_channels: int, reduction: int = 4, divisor: int = 8) -> None:
        super().__init__()
        self.reduction = reduction
        self.divisor = divisor
        max_hidden = make_divisible(max_channels // reduction, divisor)
        self.reduce = ElasticConv2d(max_channels, max_hidden, bias=True)
        self.expand = ElasticConv2d(max_hidden, max_channels, bias=True)

    def hidden_channels(self, channels: int) -> int:
        return make_divisible(channels // self.reduction, self.divisor)

    def forward(self, x: Tensor) -> Tensor:
        channels = x.shape[1]
        scale = x.mean((2, 3), keepdim=True)
        scale = F.relu(self.reduce(scale, self.hidden_channels(channels)))
        scale = F.hardsigmoid(self.expand(scale, channels))
        return x * scale
