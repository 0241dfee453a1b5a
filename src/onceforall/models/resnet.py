"""OFA-ResNet: supernet, static twin, registered variants (ofa_resnet50 and friends)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import Tensor, nn

from onceforall.arch.resnet import ResNetArch
from onceforall.arch.resnet_space import ResNetSpace
from onceforall.models.supernet import Supernet
from onceforall.nn.elastic_linear import ElasticLinear, PooledClassifier
from onceforall.nn.init import initialize_weights
from onceforall.nn.resnet_blocks import ElasticBottleneck, ElasticResNetStem, ResNetStem
from onceforall.nn.resnet_reorder import reorder_bottlenecks


class ResNet(nn.Module):
    """Static twin of the supernet: what `static(arch)` returns and `export(arch)` traces."""

    def __init__(
        self, stem: ResNetStem, pool: nn.Module, stages: nn.ModuleList, head: PooledClassifier
    ) -> None:
        super().__init__()
        self.stem = stem
        self.pool = pool
        self.stages = stages
        self.head = head

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(self.stem(x))
        for stage in self.stages:
            x = stage(x)
        return self.head(x)


def max_pool(enabled: bool) -> nn.Module:
    return nn.MaxPool2d(3, 2, 1) if enabled else nn.Identity()


class OFAResNet(Supernet[ResNetArch]):
    """The weight-sharing network of a ResNetLayout (OFA-ResNet50 and its variants)."""

    space: ResNetSpace
    static_sequentials_called_whole = True

    def __init__(self, space: ResNetSpace, dropout: float = 0.1, init_seed: int = 0) -> None:
        super().__init__(space)
        layout = space.layout
        widths = layout.width_multipliers
        self.stem = ElasticResNetStem(
            layout.in_channels,
            max(layout.stem_mid_channels(w) for w in widths),
            max(layout.stem_channels(w) for w in widths),
            layout.stem_stride,
            bn=layout.bn,
        )
        self.pool = max_pool(layout.max_pool)
        # Typed view of the blocks per stage; `stages` registers the same modules.
        self.stage_blocks: tuple[tuple[ElasticBottleneck, ...], ...] = tuple(
            tuple(
                ElasticBottleneck(
                    max(layout.stage_in_choices(s) if i == 0 else layout.stage_out_choices(s)),
                    layout.stage_out_choices(s),
                    space.expand_ratios,
                    stage.stride if i == 0 else 1,
                    layout.has_projection(s, i),
                    divisor=layout.channel_divisor,
                    bn=layout.bn,
                )
                for i in range(stage.max_depth)
            )
            for s, stage in enumerate(layout.stages)
        )
        self.stages = nn.ModuleList(nn.ModuleList(blocks) for blocks in self.stage_blocks)
        last_widths = layout.stage_out_choices(len(layout.stages) - 1)
        self.head = PooledClassifier(ElasticLinear(max(last_widths), layout.num_classes), dropout)
        self._active_blocks: tuple[ElasticBottleneck, ...] = ()
        self._apply_arch(self._arch)
        initialize_weights(self, init_seed)

    def elastic_blocks(self) -> Iterator[ElasticBottleneck]:
        """Every elastic block, active or not, in network order."""
        for blocks in self.stage_blocks:
            yield from blocks

    def active_blocks(self) -> tuple[ElasticBottleneck, ...]:
        """The blocks of the active sub-network (first `depth` blocks of each stage)."""
        return self._active_blocks

    def reorder_channels(self, keep_expand_ratios: Sequence[float] = ()) -> None:
        """Sort every bottleneck's inner channels by importance (before an elastic-expand phase).

        `keep_expand_ratios`: ratios trained in earlier phases, whose channel sets are kept.
        """
        reorder_bottlenecks(self.elastic_blocks(), keep_expand_ratios)

    def reference_keys(self, key: str) -> tuple[str, ...]:
        from onceforall.compat.resnet_state_dict import resnet_reference_names

        return resnet_reference_names(self.space.layout, key)

    def _apply_arch(self, arch: ResNetArch) -> None:
        layout = self.space.layout
        self.stem.set_active(
            layout.stem_mid_channels(arch.stem.mid_width_multiplier),
            layout.stem_channels(arch.stem.width_multiplier),
            arch.stem.depth,
        )
        active = []
        for s, (blocks, stage) in enumerate(zip(self.stage_blocks, arch.stages, strict=True)):
            width = layout.stage_channels(s, stage.width_multiplier)
            for block, ratio in zip(blocks, stage.expand_ratios, strict=False):
                block.set_active(width, ratio)
                active.append(block)
        self._active_blocks = tuple(active)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(self.stem(x))
        for block in self._active_blocks:
            x = block(x)
        return self.head(x)

    @torch.no_grad()
    def static(self, arch: ResNetArch) -> ResNet:
        with self.using(arch):
            stem = self.stem.export()
            channels = self.stem.out_channels
            stages = nn.ModuleList()
            for blocks, stage in zip(self.stage_blocks, arch.stages, strict=True):
                exported = []
                for block in blocks[: stage.depth]:
                    exported.append(block.export(channels))
                    channels = block.out_channels
                stages.append(nn.Sequential(*exported))
            classifier = self.head.classifier
            assert isinstance(classifier, ElasticLinear)
            head = PooledClassifier(classifier.export(channels), self.head.dropout.p)
        net = ResNet(stem, max_pool(self.space.layout.max_pool), stages, head)
        return net.train(self.training)
