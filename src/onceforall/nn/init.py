"""Weight initialization of a fresh supernet, from an explicit seed (never the global RNG)."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def initialize_weights(net: nn.Module, seed: int) -> None:
    """He-normal (fan-out) convolutions, unit/zero BN, uniform linear layers, zero biases.

    The reference's initialization. Kernel-transformation matrices (not module weights) keep
    their identity initialization.
    """
    generator = torch.Generator().manual_seed(seed)
    for module in net.modules():
        weight = getattr(module, "weight", None)
        if not isinstance(weight, nn.Parameter):
            continue
        if weight.dim() == 4:
            fresh = torch.empty(weight.shape)
            nn.init.kaiming_normal_(fresh, mode="fan_out", generator=generator)
            weight.copy_(fresh)
        elif weight.dim() == 2:
            bound = 1.0 / weight.shape[1] ** 0.5
            weight.copy_(torch.rand(weight.shape, generator=generator) * 2 * bound - bound)
        elif weight.dim() == 1:
            weight.fill_(1.0)
        bias = getattr(module, "bias", None)
        if isinstance(bias, nn.Parameter):
            bias.zero_()
