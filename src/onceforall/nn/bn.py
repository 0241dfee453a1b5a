"""Batch-norm utilities: re-calibration of a sub-network, synchronized statistics, stock copies.

A sub-network's BN statistics are those of the supernet slices, gathered while other
sub-networks trained; before evaluating it, the paper re-computes them on a few thousand training
images ("BN re-calibration"). `recalibrate_bn` does that on any module (run it on a static copy:
resetting the supernet's shared buffers would erase the statistics of other sub-networks).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from onceforall.nn.elastic import ElasticBatchNorm2d

BatchNorm = nn.BatchNorm2d | ElasticBatchNorm2d


def batch_norms(module: nn.Module) -> list[BatchNorm]:
    return [m for m in module.modules() if isinstance(m, (nn.BatchNorm2d, ElasticBatchNorm2d))]


@torch.no_grad()
def recalibrate_bn(model: nn.Module, batches: Iterable[Tensor]) -> int:
    """Replace every BN's running statistics by their average over `batches`; returns images seen.

    Each batch norm gets the mean of the per-batch means and of the per-batch (unbiased)
    variances, i.e. a cumulative average: the result does not depend on the order of batches
    of equal size, and not at all on the previous statistics. The model's train/eval mode and
    the BN momenta are restored afterwards.
    """
    norms = batch_norms(model)
    saved = [(bn, bn.momentum) for bn in norms]
    was_training = model.training
    seen = 0
    try:
        for bn in norms:
            for buffer, value in (
                (bn.running_mean, 0.0),
                (bn.running_var, 1.0),
                (bn.num_batches_tracked, 0),
            ):
                if buffer is None:
                    raise ValueError("re-calibration needs batch norms that track statistics")
                buffer.fill_(value)
            bn.momentum = None
        model.train()
        for images in batches:
            model(images)
            seen += images.shape[0]
    finally:
        for bn, momentum in saved:
            bn.momentum = momentum
        model.train(was_training)
    return seen


def synchronized_batch_norm(
    x: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
    weight: Tensor,
    bias: Tensor,
    momentum: float,
    eps: float,
    group: Any,
) -> Tensor:
    """Training-mode batch norm with statistics over every rank's batch (autograd included)."""
    from torch.distributed.nn.functional import all_reduce

    channels = x.shape[1]
    count = x.new_full((1,), float(x.numel() // channels))
    local = torch.cat([x.sum(dim=(0, 2, 3)), (x * x).sum(dim=(0, 2, 3)), count])
    total = all_reduce(local, op=dist.ReduceOp.SUM, group=group)
    n = total[-1]
    mean = total[:channels] / n
    var = (total[channels : 2 * channels] / n - mean * mean).clamp_min(0.0)
    with torch.no_grad():
        running_mean.mul_(1 - momentum).add_(mean.detach(), alpha=momentum)
        unbiased = var.detach() * (n / (n - 1)).clamp_min(1.0)
        running_var.mul_(1 - momentum).add_(unbiased, alpha=momentum)
    scale = weight * torch.rsqrt(var + eps)
    return x * scale[None, :, None, None] + (bias - mean * scale)[None, :, None, None]


def synchronize_batch_norm(model: nn.Module, group: Any) -> None:
    """Make every BN of `model` compute training statistics across `group` (None: local again).

    Stock `nn.BatchNorm2d` children are replaced by `ElasticBatchNorm2d` sharing their tensors
    (same names, so state dicts are unchanged); `to_stock` turns them back in exported copies.
    """
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.BatchNorm2d):
                replacement = ElasticBatchNorm2d(child.num_features, child.eps, child.momentum)
                for key in ("weight", "bias"):
                    setattr(replacement, key, getattr(child, key))
                for key in ("running_mean", "running_var", "num_batches_tracked"):
                    replacement.register_buffer(key, getattr(child, key))
                replacement.train(child.training)
                setattr(parent, name, replacement)
    for bn in batch_norms(model):
        if isinstance(bn, ElasticBatchNorm2d):
            bn.process_group = group


def to_stock(module: nn.Module) -> nn.Module:
    """A deep copy in which every full-size ElasticBatchNorm2d is a stock nn.BatchNorm2d."""
    result = copy.deepcopy(module)
    if isinstance(result, ElasticBatchNorm2d):
        return result.export(result.weight.shape[0])
    for parent in list(result.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, ElasticBatchNorm2d):
                setattr(parent, name, child.export(child.weight.shape[0]))
    return result
