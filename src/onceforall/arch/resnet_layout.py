"""What an OFA-ResNet supernet is made of: the input stem and the bottleneck stages (torch-free).

The layout fixes everything that is not elastic and every width the weights are built for: the
width multipliers (one weight tensor serves them all; smaller widths are leading slices), the
strides, the block counts. Channel arithmetic follows the reference implementation exactly, since
its released checkpoints depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

from onceforall.arch.channels import make_divisible
from onceforall.arch.mbv3_layout import BatchNormSettings


def bottleneck_width(out_channels: int, expand_ratio: float, divisor: int) -> int:
    """A bottleneck's inner width: its output channels times its expand ratio, rounded (Python's
    round, then make_divisible, as the reference)."""
    return make_divisible(round(out_channels * expand_ratio), divisor)


@dataclass(frozen=True)
class ResNetStageLayout:
    """Bottleneck blocks: `base_depth` always run, then up to `max_extra_blocks` elastic ones.

    The first block has `stride` and a projection shortcut (average pool + 1x1 conv + BN).
    """

    base_width: int  # output channels at width multiplier 1.0
    stride: int
    base_depth: int
    max_extra_blocks: int

    @property
    def max_depth(self) -> int:
        return self.base_depth + self.max_extra_blocks


@dataclass(frozen=True)
class ResNetLayout:
    """Input stem (3x3/2 conv -> residual 3x3 conv -> 3x3 conv, ReLU) -> [3x3/2 max pool] ->
    bottleneck stages -> global average pool -> linear.

    `width_multipliers` are every width the weights serve (a space may use fewer). The stem's
    output has `stem_base_width * w` channels and its first two convolutions half of that.
    """

    stages: tuple[ResNetStageLayout, ...]
    width_multipliers: tuple[float, ...]
    num_classes: int
    stem_base_width: int = 64
    stem_stride: int = 2
    max_pool: bool = True
    in_channels: int = 3
    bn: BatchNormSettings = BatchNormSettings()
    channel_divisor: int = 8

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "width_multipliers", tuple(sorted(float(w) for w in self.width_multipliers))
        )

    @property
    def slots_per_stage(self) -> tuple[int, ...]:
        return tuple(stage.max_depth for stage in self.stages)

    @property
    def num_slots(self) -> int:
        return sum(self.slots_per_stage)

    def width(self, base: int, multiplier: float) -> int:
        return make_divisible(base * multiplier, self.channel_divisor)

    def stem_channels(self, multiplier: float) -> int:
        """Output channels of the stem."""
        return self.width(self.stem_base_width, multiplier)

    def stem_mid_channels(self, multiplier: float) -> int:
        """Channels of the stem's first two convolutions (half the output, rounded as the
        reference does: several multipliers can give the same count)."""
        return make_divisible(self.stem_channels(multiplier) // 2, self.channel_divisor)

    def stage_channels(self, stage_index: int, multiplier: float) -> int:
        return self.width(self.stages[stage_index].base_width, multiplier)

    def mid_channels(self, out_channels: int, expand_ratio: float) -> int:
        return bottleneck_width(out_channels, expand_ratio, self.channel_divisor)

    def stage_in_choices(self, stage_index: int) -> tuple[int, ...]:
        """Input channel counts of a stage's first block, one per width multiplier."""
        if stage_index == 0:
            return tuple(self.stem_channels(w) for w in self.width_multipliers)
        return tuple(self.stage_channels(stage_index - 1, w) for w in self.width_multipliers)

    def stage_out_choices(self, stage_index: int) -> tuple[int, ...]:
        return tuple(self.stage_channels(stage_index, w) for w in self.width_multipliers)

    def has_projection(self, stage_index: int, position: int) -> bool:
        """Whether a block slot has a projection shortcut, by the reference's rule: unless the
        stride is 1 and the input channel choices equal the output ones."""
        if position > 0:
            return False
        stage = self.stages[stage_index]
        return stage.stride != 1 or (
            self.stage_in_choices(stage_index) != self.stage_out_choices(stage_index)
        )

    @cached_property
    def canonical_stem_mid(self) -> dict[float, float]:
        """Each multiplier -> the smallest one giving the same stem mid channels (one network,
        one encoding)."""
        result: dict[float, float] = {}
        for w in self.width_multipliers:
            same = [
                v
                for v in self.width_multipliers
                if self.stem_mid_channels(v) == self.stem_mid_channels(w)
            ]
            result[w] = min(same)
        return result

    def with_num_classes(self, num_classes: int) -> ResNetLayout:
        return replace(self, num_classes=num_classes)


# OFA-ResNet50 (the released ofa_resnet50 supernet): ResNet-50 stages of 2/2/4/2 base blocks plus
# up to 2 elastic ones each (so 4/4/6/4 slots), widths 256/512/1024/2048 at multiplier 1.0.
# Columns: base width, stride of the first block, base depth.
RESNET50_STAGE_ROWS: tuple[tuple[int, int, int], ...] = (
    (256, 1, 2),
    (512, 2, 2),
    (1024, 2, 4),
    (2048, 2, 2),
)
RESNET50_WIDTH_MULTIPLIERS = (0.65, 0.8, 1.0)


def resnet50_layout(num_classes: int, *, small_input: bool = False) -> ResNetLayout:
    """The OFA-ResNet50 layout.

    `small_input` (for 28-32 px images) drops the max pool after the stem, so the network
    downsamples 16x instead of 32x: a 32 px input ends at 2x2, as for the other families.
    """
    return ResNetLayout(
        stages=tuple(
            ResNetStageLayout(base_width=width, stride=stride, base_depth=depth, max_extra_blocks=2)
            for width, stride, depth in RESNET50_STAGE_ROWS
        ),
        width_multipliers=RESNET50_WIDTH_MULTIPLIERS,
        num_classes=num_classes,
        max_pool=not small_input,
    )


def tiny_resnet_layout(num_classes: int) -> ResNetLayout:
    """A few tens of thousands of parameters with every feature of the real layout, for tests.

    A stride-1 first stage with a projection, stride-2 stages, elastic depth, and two width
    multipliers with the same stem mid channels (as 0.65 and 0.8 in ResNet50). Channels are
    multiples of 4 so that every expand ratio gives its own bottleneck width.
    """
    return ResNetLayout(
        stages=(
            ResNetStageLayout(base_width=32, stride=1, base_depth=1, max_extra_blocks=2),
            ResNetStageLayout(base_width=48, stride=2, base_depth=1, max_extra_blocks=2),
            ResNetStageLayout(base_width=64, stride=2, base_depth=1, max_extra_blocks=1),
        ),
        width_multipliers=(0.5, 0.75, 1.0),
        num_classes=num_classes,
        stem_base_width=16,
        channel_divisor=4,
    )
