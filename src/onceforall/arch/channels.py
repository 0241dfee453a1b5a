"""Channel arithmetic shared by every family (torch-free)."""

from __future__ import annotations

from collections.abc import Iterable


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


def slot_input_sizes(size: int, stages: Iterable[tuple[int, int]]) -> tuple[list[int], int]:
    """Input size of every block slot of stages given as (stride of the first block, slots), and
    the size after the last stage. Blocks have 3x3-equivalent 'same' padding: every odd kernel
    gives the same output size."""
    sizes = []
    for stride, slots in stages:
        for position in range(slots):
            sizes.append(size)
            if position == 0:
                size = conv_output_size(size, 3, stride)
    return sizes, size
