"""OFA-MobileNetV3 (and every MBv3Layout family): the supernet and its static twin (the
registered variants are in models/builtin.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import cast

import torch
from torch import Tensor, nn

from onceforall.arch.mbv3 import MBv3Arch, MBv3Space
from onceforall.arch.mbv3_layout import (
    MBv3Layout,
)
from onceforall.models.supernet import Supernet
from onceforall.nn.activations import build_activation
from onceforall.nn.blocks import ElasticMBConv, MBConv, conv_bn_act, fixed_mbconv
from onceforall.nn.bn import to_stock
from onceforall.nn.elastic import KernelTransform
from onceforall.nn.init import initialize_weights
from onceforall.nn.reorder import reorder_channels


class Head(nn.Module):
    """[1x1 conv + BN + act] -> global average pool -> [1x1 conv + act] -> dropout -> linear."""

    def __init__(self, layout: MBv3Layout, dropout: float) -> None:
        super().__init__()
        head = layout.head
        channels = layout.stages[-1].out_channels
        self.pre_pool: nn.Sequential | None = None
        self.post_pool: nn.Sequential | None = None
        if head.pre_pool_channels is not None:
            self.pre_pool = conv_bn_act(
                channels,
                head.pre_pool_channels,
                1,
                1,
                head.activation,
                bn=layout.bn,
            )
            channels = head.pre_pool_channels
        if head.post_pool_channels is not None:
            self.post_pool = nn.Sequential()
            self.post_pool.add_module(
                "conv", nn.Conv2d(channels, head.post_pool_channels, 1, bias=False)
            )
            self.post_pool.add_module("act", build_activation(head.activation))
            channels = head.post_pool_channels
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(channels, head.num_classes)

    def forward(self, x: Tensor) -> Tensor:
        if self.pre_pool is not None:
            x = self.pre_pool(x)
        x = x.mean((2, 3), keepdim=True)
        if self.post_pool is not None:
            x = self.post_pool(x)
        return self.classifier(self.dropout(torch.flatten(x, 1)))


class MobileNet(nn.Module):
    """Static twin of the supernet: what `static(arch)` returns and `export(arch)` traces."""

    def __init__(
        self, stem: nn.Sequential, first_block: MBConv, stages: nn.ModuleList, head: Head
    ) -> None:
        super().__init__()
        self.stem = stem
        self.first_block = first_block
        self.stages = stages
        self.head = head

    def forward(self, x: Tensor) -> Tensor:
        x = self.first_block(self.stem(x))
        for stage in self.stages:
            x = stage(x)
        return self.head(x)


class OFAMobileNetV3(Supernet[MBv3Arch]):
    """The weight-sharing network of an MBv3Layout (OFA-MobileNetV3, OFA-ProxylessNAS)."""

    space: MBv3Space
    static_sequentials_called_whole = True

    def __init__(
        self,
        space: MBv3Space,
        dropout: float = 0.1,
        kernel_transform: KernelTransform = "matrix",
        init_seed: int = 0,
    ) -> None:
        super().__init__(space)
        layout = space.layout
        stem = layout.stem
        self.stem = conv_bn_act(
            layout.in_channels,
            stem.out_channels,
            stem.kernel_size,
            stem.stride,
            stem.activation,
            bn=layout.bn,
        )
        first = layout.first_block
        self.first_block = fixed_mbconv(
            stem.out_channels,
            first.out_channels,
            first.kernel_size,
            first.stride,
            first.activation,
            first.use_se,
            se_reduction=layout.se_reduction,
            divisor=layout.channel_divisor,
            bn=layout.bn,
        )
        # Typed view of the elastic blocks per stage; `stages` registers the same modules.
        self.stage_blocks: tuple[tuple[ElasticMBConv, ...], ...] = tuple(
            tuple(
                ElasticMBConv(
                    layout.stage_in_channels(s) if i == 0 else stage.out_channels,
                    stage.out_channels,
                    space.kernel_sizes,
                    space.expand_ratios,
                    stage.stride if i == 0 else 1,
                    stage.activation,
                    stage.use_se,
                    se_reduction=layout.se_reduction,
                    divisor=layout.channel_divisor,
                    kernel_transform=kernel_transform,
                    bn=layout.bn,
                )
                for i in range(stage.max_depth)
            )
            for s, stage in enumerate(layout.stages)
        )
        self.stages = nn.ModuleList(nn.ModuleList(blocks) for blocks in self.stage_blocks)
        self.head = Head(layout, dropout)
        self._active_blocks: tuple[ElasticMBConv, ...] = ()
        self._apply_arch(self._arch)
        initialize_weights(self, init_seed)

    def elastic_blocks(self) -> Iterator[ElasticMBConv]:
        """Every elastic block, active or not, in network order."""
        for blocks in self.stage_blocks:
            yield from blocks

    def reorder_channels(self, keep_expand_ratios: Sequence[int] = ()) -> None:
        """Sort every block's expanded channels by importance (before an elastic-width phase).

        `keep_expand_ratios`: ratios trained in earlier phases, whose channel sets are kept.
        """
        reorder_channels(self.elastic_blocks(), keep_expand_ratios)

    def reference_keys(self, key: str) -> tuple[str, ...]:
        from onceforall.compat.state_dict import reference_name

        return (reference_name(self, key),)

    def active_blocks(self) -> tuple[ElasticMBConv, ...]:
        """The blocks of the active sub-network (first `depth` blocks of each stage)."""
        return self._active_blocks

    def _apply_arch(self, arch: MBv3Arch) -> None:
        active = []
        for blocks, stage_arch in zip(self.stage_blocks, arch.stages, strict=True):
            for block, choice in zip(blocks, stage_arch, strict=False):
                block.set_active(choice)
                active.append(block)
        self._active_blocks = tuple(active)

    def forward(self, x: Tensor) -> Tensor:
        x = self.first_block(self.stem(x))
        for block in self._active_blocks:
            x = block(x)
        return self.head(x)

    @torch.no_grad()
    def static(self, arch: MBv3Arch) -> MobileNet:
        with self.using(arch):
            stages = nn.ModuleList(
                nn.Sequential(*(block.export() for block in blocks[: len(stage_arch)]))
                for blocks, stage_arch in zip(self.stage_blocks, arch.stages, strict=True)
            )
        net = MobileNet(
            cast(nn.Sequential, to_stock(self.stem)),
            cast(MBConv, to_stock(self.first_block)),
            stages,
            cast(Head, to_stock(self.head)),
        )
        return net.train(self.training)
