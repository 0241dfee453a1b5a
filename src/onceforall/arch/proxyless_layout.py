"""The OFA-ProxylessNAS layout as rows of an MBv3Layout (torch-free).

OFA-ProxylessNAS shares the inverted-residual block, the elastic choices and the Arch type with
OFA-MobileNetV3; only the rows differ: ReLU6 everywhere, no squeeze-excite, batch norm with
eps 1e-3, six stages (the last one a single block whose depth is not elastic) and a head with one
1x1 "feature mix" convolution (with BN) before pooling.
"""

from __future__ import annotations

from onceforall.arch.channels import make_divisible
from onceforall.arch.mbv3_layout import (
    BatchNormSettings,
    FixedBlockLayout,
    HeadLayout,
    MBv3Layout,
    StageLayout,
    StemLayout,
)

# Base widths before the width multiplier (the ProxylessNAS stage widths of the reference):
# stem 32, first block 16, head 1280. Columns: base width, stride of the first block, elastic depth.
# The fourth stage keeps the resolution; the last one is a single block (320 * w channels).
PROXYLESS_STAGE_ROWS: tuple[tuple[int, int, bool], ...] = (
    (24, 2, True),
    (40, 2, True),
    (80, 2, True),
    (96, 1, True),
    (192, 2, True),
    (320, 1, False),
)
PROXYLESS_STEM_WIDTH = 32
PROXYLESS_FIRST_BLOCK_WIDTH = 16
PROXYLESS_HEAD_WIDTH = 1280


def proxyless_layout(
    width_mult: float,
    num_classes: int,
    *,
    max_depth: int = 4,
    small_input: bool = False,
) -> MBv3Layout:
    """The OFA-ProxylessNAS layout at a width multiplier (1.3 for the released supernet).

    `small_input` (for 28-32 px images) keeps the stem at stride 2 but removes the stride of the
    first stage, so the network downsamples 16x instead of 32x, as for OFA-MobileNetV3.
    """

    def width(base: int) -> int:
        return make_divisible(base * width_mult, 8)

    stages = tuple(
        StageLayout(
            out_channels=width(base),
            stride=1 if (small_input and index == 0) else stride,
            activation="relu6",
            use_se=False,
            max_depth=max_depth if elastic else 1,
            elastic_depth=elastic,
        )
        for index, (base, stride, elastic) in enumerate(PROXYLESS_STAGE_ROWS)
    )
    return MBv3Layout(
        stem=StemLayout(out_channels=width(PROXYLESS_STEM_WIDTH), stride=2, activation="relu6"),
        # widths differ (32*w -> 16*w), so the first block has no residual connection
        first_block=FixedBlockLayout(
            out_channels=width(PROXYLESS_FIRST_BLOCK_WIDTH),
            stride=1,
            activation="relu6",
            use_se=False,
        ),
        stages=stages,
        head=HeadLayout(
            pre_pool_channels=width(PROXYLESS_HEAD_WIDTH),
            post_pool_channels=None,
            activation="relu6",
            num_classes=num_classes,
        ),
        bn=BatchNormSettings(eps=1e-3, momentum=0.1),
    )


def tiny_proxyless_layout(num_classes: int) -> MBv3Layout:
    """A few thousand parameters with every feature of the real layout, for tests.

    ReLU6, no squeeze-excite, eps 1e-3, a stride-1 stage, a single-block last stage with fixed
    depth, and a feature-mix head.
    """
    return MBv3Layout(
        stem=StemLayout(out_channels=16, stride=2, activation="relu6"),
        first_block=FixedBlockLayout(out_channels=8, stride=1, activation="relu6", use_se=False),
        stages=(
            StageLayout(out_channels=8, stride=2, activation="relu6", use_se=False, max_depth=4),
            StageLayout(out_channels=16, stride=1, activation="relu6", use_se=False, max_depth=4),
            StageLayout(
                out_channels=24,
                stride=2,
                activation="relu6",
                use_se=False,
                max_depth=1,
                elastic_depth=False,
            ),
        ),
        head=HeadLayout(
            pre_pool_channels=48,
            post_pool_channels=None,
            activation="relu6",
            num_classes=num_classes,
        ),
        bn=BatchNormSettings(eps=1e-3, momentum=0.1),
    )
