"""Channel arithmetic shared by every family (torch-free)."""

from __future__ import annotations


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round `value` to the nearest multiple of `divisor`, never more than 10% below it.

    This is the rule of the TF-slim MobileNet code that the reference implementation (and so its
    released checkpoints) uses for every width, including expanded and squeeze-excite widths.
    """
    floor = divisor if min_value is None else min_value
    rounded = max(floor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def conv_output_size(size: int, kernel_size: int, stride: int) -> int:
    """Spatial size after a 'same'-padded convolution (padding = kernel_size // 2)."""
    return (size + 2 * (kernel_size // 2) - kernel_size) // stride + 1
