"""What a MobileNet-style supernet is made of: the paper's tables as rows of frozen values.

A layout fixes everything that is not elastic (widths, strides, activations, squeeze-excite
placement, head). The same layout type describes OFA-MobileNetV3 and OFA-ProxylessNAS, which share
the inverted-residual block; only the rows differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from onceforall.arch.channels import make_divisible

Activation = Literal["relu", "relu6", "hswish"]


@dataclass(frozen=True)
class StemLayout:
    """The first convolution: 3x3 conv + BN + activation."""

    out_channels: int
    stride: int
    activation: Activation
    kernel_size: int = 3


@dataclass(frozen=True)
class FixedBlockLayout:
    """The first inverted-residual block, which is not elastic (expand ratio 1 in both families)."""

    out_channels: int
    stride: int
    activation: Activation
    use_se: bool
    kernel_size: int = 3


@dataclass(frozen=True)
class StageLayout:
    """One stage of elastic blocks: the first block has `stride`, the others stride 1."""

    out_channels: int
    stride: int
    activation: Activation
    use_se: bool
    max_depth: int
    elastic_depth: bool = True


@dataclass(frozen=True)
class HeadLayout:
    """Everything after the last stage.

    `pre_pool_channels`: 1x1 conv + BN + activation before global pooling (MBv3's final expand
    layer, ProxylessNAS's feature-mix layer). `post_pool_channels`: 1x1 conv + activation without BN
    after pooling (MBv3's feature-mix layer). Either may be absent.
    """

    pre_pool_channels: int | None
    post_pool_channels: int | None
    activation: Activation
    num_classes: int


@dataclass(frozen=True)
class BatchNormSettings:
    eps: float = 1e-5
    momentum: float | None = 0.1


@dataclass(frozen=True)
class MBv3Layout:
    stem: StemLayout
    first_block: FixedBlockLayout
    stages: tuple[StageLayout, ...]
    head: HeadLayout
    in_channels: int = 3
    bn: BatchNormSettings = BatchNormSettings()
    se_reduction: int = 4
    channel_divisor: int = 8

    @property
    def slots_per_stage(self) -> tuple[int, ...]:
        return tuple(stage.max_depth for stage in self.stages)

    @property
    def num_slots(self) -> int:
        return sum(self.slots_per_stage)

    def stage_in_channels(self, stage_index: int) -> int:
        if stage_index == 0:
            return self.first_block.out_channels
        return self.stages[stage_index - 1].out_channels

    def with_num_classes(self, num_classes: int) -> MBv3Layout:
        from dataclasses import replace

        return replace(self, head=replace(self.head, num_classes=num_classes))


# OFA-MobileNetV3 (paper Fig. 2 / the released d234_e346_k357 supernets), base widths before the
# width multiplier: stem 16, first block 16, stages 24/40/80/112/160, head 960 -> 1280.
# Columns: base width, stride of the first block, activation, squeeze-excite.
MOBILENET_V3_STAGE_ROWS: tuple[tuple[int, int, Activation, bool], ...] = (
    (24, 2, "relu", False),
    (40, 2, "relu", True),
    (80, 2, "hswish", False),
    (112, 1, "hswish", True),
    (160, 2, "hswish", True),
)


def mobilenet_v3_layout(
    width_mult: float,
    num_classes: int,
    *,
    max_depth: int = 4,
    small_input: bool = False,
) -> MBv3Layout:
    """The OFA-MobileNetV3 layout at a width multiplier.

    `small_input` (for 28-32 px images) keeps the stem at stride 2 but removes the stride of the
    first stage, so the network downsamples 16x instead of 32x: a 32 px input ends at 2x2 instead
    of 1x1.
    """

    def width(base: int) -> int:
        return make_divisible(base * width_mult, 8)

    stages = tuple(
        StageLayout(
            out_channels=width(base),
            stride=1 if (small_input and index == 0) else stride,
            activation=act,
            use_se=se,
            max_depth=max_depth,
        )
        for index, (base, stride, act, se) in enumerate(MOBILENET_V3_STAGE_ROWS)
    )
    return MBv3Layout(
        stem=StemLayout(out_channels=width(16), stride=2, activation="hswish"),
        first_block=FixedBlockLayout(
            out_channels=width(16), stride=1, activation="relu", use_se=False
        ),
        stages=stages,
        head=HeadLayout(
            pre_pool_channels=width(960),
            post_pool_channels=width(1280),
            activation="hswish",
            num_classes=num_classes,
        ),
        bn=BatchNormSettings(eps=1e-5, momentum=0.1),
    )


def tiny_mbv3_layout(num_classes: int) -> MBv3Layout:
    """A few thousand parameters with every feature of the real layout (SE, hswish, strides)."""
    return MBv3Layout(
        stem=StemLayout(out_channels=8, stride=2, activation="hswish"),
        first_block=FixedBlockLayout(out_channels=8, stride=1, activation="relu", use_se=False),
        stages=(
            StageLayout(out_channels=8, stride=2, activation="relu", use_se=False, max_depth=4),
            StageLayout(out_channels=16, stride=2, activation="hswish", use_se=True, max_depth=4),
            StageLayout(out_channels=16, stride=1, activation="hswish", use_se=True, max_depth=4),
        ),
        head=HeadLayout(
            pre_pool_channels=32,
            post_pool_channels=48,
            activation="hswish",
            num_classes=num_classes,
        ),
    )
