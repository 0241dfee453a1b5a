"""Channel reordering for the elastic-width phase: most important expanded channels first.

Importance of an expanded channel = L1 norm of the projection weights that read it. Sorting keeps
the full network's function (a permutation of hidden channels) and makes every smaller expand
ratio, which keeps a leading slice, start from the most useful channels.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import torch
from torch import Tensor

from onceforall.nn.blocks import ElasticMBConv
from onceforall.nn.elastic import ElasticBatchNorm2d


def importance_order(importance: Tensor, boundaries: Sequence[int] = ()) -> Tensor:
    """Indices sorting `importance` descending within each segment cut at `boundaries`.

    Boundaries protect widths that earlier phases already trained: channels inside the first
    `b` stay inside it, so sub-networks of that width keep their channels (only reordered).
    """
    cuts = sorted({0, *(b for b in boundaries if 0 < b < len(importance)), len(importance)})
    parts = []
    for start, stop in itertools.pairwise(cuts):
        order = torch.argsort(importance[start:stop], descending=True, stable=True)
        parts.append(order + start)
    return torch.cat(parts)


def permute_batch_norm(bn: ElasticBatchNorm2d, order: Tensor) -> None:
    for tensor in (bn.weight, bn.bias, bn.running_mean, bn.running_var):
        tensor.copy_(tensor[order])


@torch.no_grad()
def reorder_block(block: ElasticMBConv, keep_expand_ratios: Sequence[int] = ()) -> Tensor:
    """Sort one block's expanded channels (and its squeeze-excite hidden units) by importance.

    `keep_expand_ratios`: expand ratios already trained, whose channel sets must not change.
    Returns the permutation applied to the expanded channels.
    """
    widths = [block.mid_channels[e] for e in keep_expand_ratios if e in block.mid_channels]
    order = importance_order(block.project.conv.weight.abs().sum(dim=(0, 2, 3)), widths)
    block.expand.conv.weight.copy_(block.expand.conv.weight[order])
    permute_batch_norm(block.expand.bn, order)
    block.depthwise.conv.weight.copy_(block.depthwise.conv.weight[order])
    permute_batch_norm(block.depthwise.bn, order)
    block.project.conv.weight.copy_(block.project.conv.weight[:, order])
    se = block.se
    if se is not None:
        se.reduce.weight.copy_(se.reduce.weight[:, order])
        se.expand.weight.copy_(se.expand.weight[order])
        assert se.expand.bias is not None and se.reduce.bias is not None
        se.expand.bias.copy_(se.expand.bias[order])
        hidden = importance_order(se.expand.weight.abs().sum(dim=(0, 2, 3)))
        se.expand.weight.copy_(se.expand.weight[:, hidden])
        se.reduce.weight.copy_(se.reduce.weight[hidden])
        se.reduce.bias.copy_(se.reduce.bias[hidden])
    return order


def reorder_channels(
    blocks: Iterable[ElasticMBConv], keep_expand_ratios: Sequence[int] = ()
) -> list[Tensor]:
    """`reorder_block` on every block (e.g. `supernet.elastic_blocks()`); the permutations."""
    return [reorder_block(block, keep_expand_ratios) for block in blocks]
