"""Channel reordering of bottlenecks for the elastic-expand phase: most important inner channels
first, as nn/reorder.py does for inverted residuals.

conv2's output channels are sorted by the L1 norm of the conv3 weights that read them, then
conv1's output channels by the L1 norm of the conv2 weights that read them. A permutation of
inner channels keeps the full network's function.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor

from onceforall.nn.blocks import ElasticConvBN
from onceforall.nn.elastic import ElasticConv2d
from onceforall.nn.reorder import importance_order, permute_batch_norm
from onceforall.nn.resnet_blocks import ElasticBottleneck


def _sort_outputs(
    producer: ElasticConvBN[ElasticConv2d], consumer: ElasticConv2d, boundaries: Sequence[int]
) -> Tensor:
    order = importance_order(consumer.weight.abs().sum(dim=(0, 2, 3)), boundaries)
    consumer.weight.copy_(consumer.weight[:, order])
    producer.conv.weight.copy_(producer.conv.weight[order])
    permute_batch_norm(producer.bn, order)
    return order


@torch.no_grad()
def reorder_bottleneck(
    block: ElasticBottleneck, keep_expand_ratios: Sequence[float] = ()
) -> tuple[Tensor, Tensor]:
    """Sort one block's inner channels; the permutations of conv2's and conv1's outputs.

    `keep_expand_ratios`: ratios already trained; the channel sets of their inner widths (at
    every output width) do not change.
    """
    boundaries = sorted(
        {
            block.mid_channels(width, ratio)
            for width in block.out_choices
            for ratio in keep_expand_ratios
            if ratio in block.expand_ratios
        }
    )
    second = _sort_outputs(block.conv2, block.conv3.conv, boundaries)
    first = _sort_outputs(block.conv1, block.conv2.conv, boundaries)
    return second, first


def reorder_bottlenecks(
    blocks: Iterable[ElasticBottleneck], keep_expand_ratios: Sequence[float] = ()
) -> list[tuple[Tensor, Tensor]]:
    return [reorder_bottleneck(block, keep_expand_ratios) for block in blocks]
