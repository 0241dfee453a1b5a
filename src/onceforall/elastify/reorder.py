"""Channel sorting for an elastified network: most important channels first, per channel group.

Importance of a channel is the L1 norm of the weights that read it (every dense convolution or
linear layer consuming the group), as the paper sorts expanded channels by the next layer's
weights. One permutation per group is applied to every tensor holding those channels: the
producers' outputs, batch norms, depthwise convolutions and the consumers' inputs, so the full
network computes the same function afterwards.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from onceforall.elastify.layers import ElastifiedConv2d, ElastifiedLinear
from onceforall.elastify.plan import ElastifyPlan
from onceforall.nn.elastic import ElasticBatchNorm2d


def _reads(module: nn.Module) -> bool:
    """A dense layer whose weight's dim 1 is its input channels."""
    if isinstance(module, ElastifiedConv2d):
        return not module.depthwise and module.groups == 1
    return isinstance(module, ElastifiedLinear)


def importance(model: nn.Module, plan: ElastifyPlan, group: int) -> Tensor | None:
    total: Tensor | None = None
    for layer in plan.layers:
        module = model.get_submodule(layer.path)
        if layer.in_group == group and _reads(module):
            weight = module.weight.detach().abs()  # type: ignore[operator]
            per_channel = weight.transpose(0, 1).reshape(weight.shape[1], -1).sum(dim=1)
            total = per_channel if total is None else total + per_channel
    return total


def sorted_permutation(scores: Tensor, kept: Sequence[int]) -> Tensor:
    """Descending order of `scores` within each segment [0, kept[0]), [kept[0], kept[1]), ..."""
    bounds = [0, *sorted(w for w in set(kept) if 0 < w < len(scores)), len(scores)]
    parts = []
    for low, high in itertools.pairwise(bounds):
        order = torch.sort(scores[low:high], descending=True, stable=True).indices
        parts.append(order + low)
    return torch.cat(parts)


@torch.no_grad()
def reorder_group(model: nn.Module, plan: ElastifyPlan, group: int, kept: Sequence[int]) -> None:
    scores = importance(model, plan, group)
    if scores is None:
        return
    perm = sorted_permutation(scores, kept)
    for layer in plan.layers:
        module = model.get_submodule(layer.path)
        if layer.out_group == group:
            tensors: list[Tensor] = []
            if isinstance(module, ElasticBatchNorm2d):
                tensors = [module.weight, module.bias, module.running_mean, module.running_var]
            elif isinstance(module, (ElastifiedConv2d, ElastifiedLinear)):
                tensors = [module.weight, *([module.bias] if module.bias is not None else [])]
            for tensor in tensors:
                tensor.copy_(tensor[perm])
        reader = isinstance(module, (ElastifiedConv2d, ElastifiedLinear)) and _reads(module)
        if layer.in_group == group and reader:
            weight: Tensor = module.weight  # type: ignore[assignment]
            weight.copy_(weight[:, perm])
