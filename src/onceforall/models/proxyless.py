"""OFA-ProxylessNAS: registered variants of the MBv3Layout supernet with the ProxylessNAS rows.

The network class is `OFAMobileNetV3` (one class for every MBv3Layout) and the arch type is
`MBv3Arch`: the two families differ only in their layout rows (arch/proxyless_layout.py).
"""

from __future__ import annotations

from onceforall.arch.mbv3 import MBv3Space
from onceforall.arch.proxyless_layout import proxyless_layout, tiny_proxyless_layout
from onceforall.models.mbv3 import IMAGENET_RESOLUTIONS, SMALL_INPUT_RESOLUTIONS, OFAMobileNetV3
from onceforall.models.registry import register_supernet


def _register() -> None:
    register_supernet(
        "ofa_proxyless_w13",
        "OFA-ProxylessNAS w1.3 (d234 e346 k357), ImageNet layout, 128-224 px",
        lambda n: MBv3Space(proxyless_layout(1.3, n), resolutions=IMAGENET_RESOLUTIONS),
        OFAMobileNetV3,
    )
    register_supernet(
        "ofa_proxyless_w13_small_input",
        "OFA-ProxylessNAS w1.3 for 24-32 px images: first stage without stride (16x downsampling)",
        lambda n: MBv3Space(
            proxyless_layout(1.3, n, small_input=True), resolutions=SMALL_INPUT_RESOLUTIONS
        ),
        OFAMobileNetV3,
        default_num_classes=10,
    )
    register_supernet(
        "test_proxyless_tiny",
        "tiny ProxylessNAS layout (ReLU6, no SE, fixed last stage, 16-24 px) for fast tests",
        lambda n: MBv3Space(tiny_proxyless_layout(n), resolutions=(16, 20, 24)),
        OFAMobileNetV3,
        default_num_classes=10,
    )


_register()
