"""The elastified user network as a `Supernet`: set_arch, static copies, channel sorting."""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from onceforall.arch.elastified import ElastifiedArch
from onceforall.elastify.layers import ElasticSequential, ElastifiedConv2d, ElastifiedLinear
from onceforall.elastify.plan import ElastifyPlan
from onceforall.models.supernet import Supernet
from onceforall.nn.elastic import ElasticBatchNorm2d, KernelTransform


def _elastic_batch_norm(bn: nn.BatchNorm2d) -> ElasticBatchNorm2d:
    elastic = ElasticBatchNorm2d(bn.num_features, eps=bn.eps, momentum=bn.momentum)
    elastic.load_state_dict(bn.state_dict())
    return elastic.to(bn.weight)


class ElastifiedSupernet(Supernet[ElastifiedArch]):
    """A user's network whose layers were replaced by elastic stand-ins (elastify/layers.py).

    The user's network is `self.model` (state-dict keys ``model.<the user's keys>``); at
    `space.max()` it computes what the user's network computed.
    """

    def __init__(
        self, model: nn.Module, plan: ElastifyPlan, kernel_transform: KernelTransform
    ) -> None:
        super().__init__(plan.space)
        self.plan = plan
        self.model = model
        modules = dict(model.named_modules())
        elastic_groups = set(plan.group_of_gene)
        kernel_columns = plan.space.columns("kernel")
        kernels = {
            path: plan.space.genes[column].choices
            for path, column in zip(plan.kernel_layers, kernel_columns, strict=True)
        }
        for layer in plan.layers:
            module = modules[layer.path]
            touched = {layer.in_group, layer.out_group} & elastic_groups or layer.path in kernels
            if not touched:
                continue
            if isinstance(module, nn.Conv2d):
                replacement: nn.Module = ElastifiedConv2d(
                    module, kernels.get(layer.path, ()), kernel_transform
                )
            elif isinstance(module, nn.Linear):
                replacement = ElastifiedLinear(module)
            elif isinstance(module, nn.BatchNorm2d):
                replacement = _elastic_batch_norm(module)
            else:
                continue
            model.set_submodule(layer.path, replacement)
        for stage in plan.stages:
            sequential = model.get_submodule(stage.path) if stage.path else model
            elastic = ElasticSequential(sequential)  # type: ignore[arg-type]
            if stage.path:
                model.set_submodule(stage.path, elastic)
            else:
                self.model = model = elastic
        self.set_arch(plan.space.max())

    # --- the active sub-network ---------------------------------------------------------------

    def _widths(self, arch: ElastifiedArch) -> dict[int, int]:
        """Channels per analysis group (elastic groups: the arch's; others: their own)."""
        widths = dict(self.plan.group_channels)
        for group, gene in self.plan.group_of_gene.items():
            if arch.widths[gene]:
                widths[group] = arch.widths[gene]
        return widths

    def _apply_arch(self, arch: ElastifiedArch) -> None:
        widths = self._widths(arch)
        for stage, depth in zip(self.plan.stages, arch.depths, strict=True):
            module = self.model.get_submodule(stage.path) if stage.path else self.model
            module.active_depth = depth or stage.blocks  # type: ignore[assignment]
        for layer in self.plan.layers:
            module = self.model.get_submodule(layer.path)
            if layer.out_group is None:
                continue
            width = widths[layer.out_group]
            if isinstance(module, ElastifiedConv2d) and not module.depthwise:
                module.active_out_channels = width
            elif isinstance(module, ElastifiedLinear):
                module.active_out_features = width
        for path, kernel in zip(self.plan.kernel_layers, arch.kernel_sizes, strict=True):
            conv = self.model.get_submodule(path)
            assert isinstance(conv, ElastifiedConv2d)
            conv.active_kernel_size = kernel or conv.kernel_sizes[-1]

    def forward(self, x: Tensor) -> Tensor:
        result: Tensor = self.model(x)
        return result

    def elastic_blocks(self) -> Iterator[nn.Module]:
        for stage in self.plan.stages:
            yield from (self.model.get_submodule(path) for path in stage.children)

    def active_blocks(self) -> Sequence[nn.Module]:
        blocks = []
        for stage, depth in zip(self.plan.stages, self._arch.depths, strict=True):
            if depth:
                blocks += [self.model.get_submodule(p) for p in stage.children[:depth]]
        return blocks

    # --- static copies ------------------------------------------------------------------------

    @torch.no_grad()
    def static(self, arch: ElastifiedArch) -> nn.Module:
        """The user's network for `arch`: stock layers with cloned, sliced weights."""
        with self.using(arch):
            model = copy.deepcopy(self.model)
        widths = self._widths(arch)
        for layer in self.plan.layers:
            module = model.get_submodule(layer.path)
            cin = widths[layer.in_group] if layer.in_group is not None else None
            if isinstance(module, (ElastifiedConv2d, ElastifiedLinear)):
                full = module.weight.shape[1] * (
                    module.groups if isinstance(module, ElastifiedConv2d) else 1
                )
                stock: nn.Module = module.export(cin if cin is not None else full)
            elif isinstance(module, ElasticBatchNorm2d):
                stock = module.export(cin if cin is not None else module.weight.shape[0])
            else:
                continue
            model.set_submodule(layer.path, stock)
        for stage, depth in sorted(
            zip(self.plan.stages, arch.depths, strict=True), key=lambda s: -len(s[0].path)
        ):
            sequential = model.get_submodule(stage.path) if stage.path else model
            kept = nn.Sequential(
                OrderedDict(list(sequential.named_children())[: depth or stage.blocks])
            )
            if stage.path:
                model.set_submodule(stage.path, kept)
            else:
                model = kept
        return model.train(self.training)

    # --- channel sorting ----------------------------------------------------------------------

    @torch.no_grad()
    def reorder_channels(self, keep_expand_ratios: Sequence[Any] = ()) -> None:
        """Sort the channels of every elastic group by importance (the L1 norm of the weights
        that read them), keeping the channel sets of widths trained before (their ratios)."""
        from onceforall.elastify.reorder import reorder_group

        width_columns = self.plan.space.columns("width")
        for group, gene in self.plan.group_of_gene.items():
            spec = self.plan.space.genes[width_columns[gene]]
            kept = [
                w
                for w, r in zip(spec.choices, spec.ratios, strict=True)
                if r in set(keep_expand_ratios)
            ]
            reorder_group(self.model, self.plan, group, kept)

    def reference_keys(self, key: str) -> tuple[str, ...]:
        return (key,)
