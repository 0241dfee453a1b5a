"""Multi-process training under torchrun: process group, gradient averaging, rank checks.

Every rank samples the same sub-networks (the schedule is a function of seed and step) and
trains them on its slice of the global batch; after the step's backward passes the gradients are
averaged in one flat all-reduce (every rank has gradients for the same tensors). Without
synchronized batch norm the BN running statistics are averaged too, so ranks stay identical.
Only rank 0 writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from onceforall.errors import ConfigError
from onceforall.nn.bn import batch_norms


@dataclass(frozen=True)
class DistributedContext:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed() -> DistributedContext:
    """From torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK); single process otherwise.

    Backend: nccl when CUDA is available, gloo on CPU.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world_size > 1 and not dist.is_initialized():
        if not dist.is_available():
            raise ConfigError("this torch build has no torch.distributed")
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    return DistributedContext(rank, world_size, local_rank, device)


def shutdown_distributed(context: DistributedContext) -> None:
    if context.enabled and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_gradients(parameters: list[nn.Parameter], world_size: int) -> None:
    """Average gradients across ranks in one flat buffer.

    Parameters without a gradient (slices no sampled sub-network used) have none on every rank,
    since all ranks train the same sub-networks; they stay without one, so the optimizer leaves
    them alone exactly as in a single-process run.
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat.div_(world_size)
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset : offset + n].view_as(g))
        offset += n


@torch.no_grad()
def average_batch_norm_statistics(model: nn.Module, world_size: int) -> None:
    buffers = []
    for bn in batch_norms(model):
        for buffer in (bn.running_mean, bn.running_var):
            if buffer is not None:
                buffers.append(buffer)
    flat = torch.cat([b.reshape(-1) for b in buffers])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat.div_(world_size)
    offset = 0
    for b in buffers:
        b.copy_(flat[offset : offset + b.numel()].view_as(b))
        offset += b.numel()


@torch.no_grad()
def parameter_spread(model: nn.Module) -> float:
    """Max over parameters of (max - min across ranks): 0.0 when the ranks are in sync."""
    flat = torch.cat([p.detach().reshape(-1).double() for p in model.parameters()])
    high, low = flat.clone(), flat.clone()
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    return float((high - low).abs().max())


def barrier(context: DistributedContext) -> None:
    if context.enabled:
        dist.barrier()


def broadcast_object(value: Any, context: DistributedContext) -> Any:
    """`value` of rank 0 on every rank."""
    if not context.enabled:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def is_main_process() -> bool:
    """Rank 0 (or no torchrun), known before the process group starts (from RANK)."""
    return os.environ.get("RANK", "0") == "0"
