"""What layers cost: multiply-accumulates and parameters, as the reference counts them (torch-free).

MACs follow the reference implementation's ``count_net_flops``: multiply-accumulates of
convolutions (``in/groups * out * k * k * out_h * out_w``) and linear layers (``in * out``),
squeeze-excite convolutions included; batch norm, activations, pooling, additions and biases are
free. Parameters are those of the exported sub-network (kernel-transformation matrices excluded).
Each family sums these per table entry (arch/mbv3_costs.py, arch/resnet_costs.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from onceforall.arch.channels import make_divisible


@dataclass(frozen=True)
class Cost:
    macs: int
    params: int

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.macs + other.macs, self.params + other.params)


ZERO = Cost(0, 0)


def conv_cost(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    out_size: int,
    *,
    groups: int = 1,
    bias: bool = False,
    batch_norm: bool = False,
) -> Cost:
    weights = in_channels // groups * out_channels * kernel_size * kernel_size
    params = weights + (out_channels if bias else 0) + (2 * out_channels if batch_norm else 0)
    return Cost(weights * out_size * out_size, params)


def linear_cost(in_features: int, out_features: int) -> Cost:
    return Cost(in_features * out_features, in_features * out_features + out_features)


def squeeze_excite_cost(channels: int, reduction: int, divisor: int) -> Cost:
    """Two 1x1 convolutions with bias on the pooled 1x1 map."""
    mid = make_divisible(channels // reduction, divisor)
    return conv_cost(channels, mid, 1, 1, bias=True) + conv_cost(mid, channels, 1, 1, bias=True)
