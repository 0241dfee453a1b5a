"""Pure tensor functions for weight sharing: every slice of a shared weight goes through here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor


def slice_channels(weight: Tensor, out_channels: int, in_channels: int | None = None) -> Tensor:
    """The leading `out_channels` (dim 0) and `in_channels` (dim 1) of a weight; no copy."""
    if out_channels < weight.shape[0]:
        weight = weight[:out_channels]
    if in_channels is not None and in_channels < weight.shape[1]:
        weight = weight[:, :in_channels]
    return weight


def center_crop_kernel(weight: Tensor, kernel_size: int) -> Tensor:
    """The central `kernel_size` x `kernel_size` window of a (..., K, K) kernel."""
    full = weight.shape[-1]
    if kernel_size > full or (full - kernel_size) % 2:
        raise ValueError(f"cannot crop a {full}x{full} kernel to {kernel_size}x{kernel_size}")
    start = (full - kernel_size) // 2
    return weight[..., start : start + kernel_size, start : start + kernel_size]


def transform_kernel(
    weight: Tensor,
    kernel_size: int,
    kernel_sizes: Sequence[int],
    matrices: Mapping[str, Tensor] | None,
) -> Tensor:
    """Shrink a (C, 1, K, K) depthwise kernel to `kernel_size`, one `kernel_sizes` step at a time.

    Each step takes the centre of the current kernel and, when `matrices` is given, mixes its
    k*k taps with the learned matrix for that step (key ``"7to5"``), as the paper's elastic kernel
    does: ``w_small = center(w_large) @ M^T`` per channel. Without matrices it is a plain crop.
    """
    steps = sorted(k for k in kernel_sizes if kernel_size <= k <= weight.shape[-1])
    current = weight
    for larger, smaller in zip(reversed(steps), reversed(steps[:-1]), strict=False):
        current = center_crop_kernel(current, smaller)
        if matrices is not None:
            flat = current.reshape(current.shape[0], -1, smaller * smaller)
            flat = torch.matmul(flat, matrices[f"{larger}to{smaller}"].t())
            current = flat.reshape(current.shape[0], -1, smaller, smaller)
    if current.shape[-1] != kernel_size:
        raise ValueError(f"kernel size {kernel_size} is not reachable from {tuple(kernel_sizes)}")
    return current
