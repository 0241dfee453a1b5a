"""One training step of the supernet: the same code under the CLI, torchrun and the benchmark.

A step: teacher soft targets (no grad) -> for each sampled sub-network: set it, forward, loss =
label-smoothed cross entropy + kd_ratio x soft-target cross entropy, backward (gradients of the
sub-networks add up) -> [average gradients across ranks] -> optimizer step.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from onceforall.models.supernet import Supernet
from onceforall.nn.bn import batch_norms
from onceforall.run.config import OptimizerConfig
from onceforall.train.distributed import (
    DistributedContext,
    all_reduce_gradients,
    average_batch_norm_statistics,
)
from onceforall.train.teacher import Teacher


def soft_cross_entropy(logits: Tensor, target_probabilities: Tensor) -> Tensor:
    return torch.mean(torch.sum(-target_probabilities * F.log_softmax(logits, dim=1), dim=1))


def build_optimizer(net: nn.Module, config: OptimizerConfig, lr: float) -> torch.optim.SGD:
    """SGD with Nesterov momentum; no weight decay on BN weights and biases (1-d tensors)."""
    decay, no_decay = [], []
    for parameter in net.parameters():
        if config.no_decay_on_bn_and_bias and parameter.dim() <= 1:
            no_decay.append(parameter)
        else:
            decay.append(parameter)
    groups = [{"params": decay, "weight_decay": config.weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return torch.optim.SGD(groups, lr=lr, momentum=config.momentum, nesterov=config.nesterov)


@dataclass
class StepState:
    """What a step needs besides the batch. Mutable holder owned by the trainer."""

    net: Supernet[Any]
    optimizer: torch.optim.Optimizer
    config: OptimizerConfig
    context: DistributedContext
    teacher: Teacher | None = None
    channels_last: bool = True
    amp: bool = False
    sync_batch_norm: bool = False
    scaler: torch.amp.GradScaler | None = None


@dataclass(frozen=True)
class StepResult:
    loss: float  # mean over the step's sub-networks
    images: int  # on this rank


@contextlib.contextmanager
def seeded_dropout(seed: int, device: torch.device) -> Iterator[None]:
    """Dropout masks from `seed` inside the block; torch's global generators are restored after.

    Dropout draws from torch's default generator; forking it per step makes every step
    reproducible (exact resume) without touching the randomness of the rest of the program.
    """
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type=device.type):
        torch.manual_seed(seed)
        yield


def prepare_images(images: Tensor, state: StepState) -> Tensor:
    images = images.to(state.context.device, non_blocking=True)
    if state.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    return images


def train_step(
    state: StepState,
    images: Tensor,
    labels: Tensor,
    archs: Sequence[Any],
    lr: float,
    *,
    distill: bool,
    in_place_distillation: bool = False,
) -> StepResult:
    """One optimizer step over `archs` on one batch (see the module docstring).

    `in_place_distillation` (sandwich rule): `archs[0]` (the largest) learns from the labels and
    its detached output is the soft target of the others; `distill` then means nothing.
    """
    net, device = state.net, state.context.device
    images = prepare_images(images, state)
    labels = labels.to(device, non_blocking=True)
    for group in state.optimizer.param_groups:
        group["lr"] = lr
    autocast = torch.autocast(device_type=device.type, dtype=torch.float16, enabled=state.amp)
    soft_targets = None
    if distill and state.teacher is not None and not in_place_distillation:
        with torch.no_grad(), autocast:
            soft_targets = F.softmax(state.teacher(images).float(), dim=1)
    state.optimizer.zero_grad(set_to_none=True)
    total = 0.0
    for index, arch in enumerate(archs):
        net.set_arch(arch)
        with autocast:
            logits = net(images).float()
        loss = F.cross_entropy(logits, labels, label_smoothing=state.config.label_smoothing)
        if soft_targets is not None:
            loss = loss + state.config.kd_ratio * soft_cross_entropy(logits, soft_targets)
        if in_place_distillation and index == 0:
            soft_targets = F.softmax(logits.detach(), dim=1)
        if state.scaler is not None:
            state.scaler.scale(loss).backward()
        else:
            loss.backward()
        total += float(loss.detach())
    parameters = [p for p in net.parameters() if p.requires_grad]
    if state.context.enabled:
        all_reduce_gradients(parameters, state.context.world_size)
    if state.scaler is not None:
        state.scaler.step(state.optimizer)
        state.scaler.update()
    else:
        state.optimizer.step()
    if state.context.enabled and not state.sync_batch_norm and batch_norms(net):
        average_batch_norm_statistics(net, state.context.world_size)
    return StepResult(loss=total / len(archs), images=int(images.shape[0]))
