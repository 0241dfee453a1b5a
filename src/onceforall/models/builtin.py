"""The built-in supernets, registered without importing torch.

A registration holds how to build the space (torch-free: arch/) and the network; the network
class is named here and imported only when a network is built, so `ofa list`, `ofa info` and
`ofa arch` answer without loading torch (~3-6 s on a busy machine).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from onceforall.arch.mbv3 import MBv3Space
from onceforall.arch.mbv3_layout import mobilenet_v3_layout, tiny_mbv3_layout
from onceforall.arch.proxyless_layout import proxyless_layout, tiny_proxyless_layout
from onceforall.arch.resnet_layout import resnet50_layout, tiny_resnet_layout
from onceforall.arch.resnet_space import RESNET50_RESOLUTIONS, ResNetSpace
from onceforall.models.registry import register_supernet

IMAGENET_RESOLUTIONS = tuple(range(128, 225, 4))
SMALL_INPUT_RESOLUTIONS = (24, 28, 32)
TINY_EXPAND_RATIOS = (0.25, 0.5, 1.0)  # test_resnet_tiny


def _network(module: str, name: str) -> Any:
    """`module.name(space, **options)`, the module imported on the first call."""

    def build(space: Any, **options: Any) -> Any:
        return getattr(import_module(module), name)(space, **options)

    build.__qualname__ = name
    return build


def _mbv3(width: float, small: bool, resolutions: tuple[int, ...]) -> Any:
    return lambda n: MBv3Space(
        mobilenet_v3_layout(width, n, small_input=small), resolutions=resolutions
    )


def _register() -> None:
    mobilenet = _network("onceforall.models.mbv3", "OFAMobileNetV3")
    resnet = _network("onceforall.models.resnet", "OFAResNet")
    register_supernet(
        "ofa_mbv3_w10",
        "OFA-MobileNetV3 w1.0 (d234 e346 k357), ImageNet layout, 128-224 px",
        _mbv3(1.0, False, IMAGENET_RESOLUTIONS),
        mobilenet,
    )
    register_supernet(
        "ofa_mbv3_w12",
        "OFA-MobileNetV3 w1.2 (d234 e346 k357), ImageNet layout, 128-224 px",
        _mbv3(1.2, False, IMAGENET_RESOLUTIONS),
        mobilenet,
    )
    register_supernet(
        "ofa_mbv3_w10_small_input",
        "OFA-MobileNetV3 w1.0 for 24-32 px images: first stage without stride (16x downsampling)",
        _mbv3(1.0, True, SMALL_INPUT_RESOLUTIONS),
        mobilenet,
        default_num_classes=10,
    )
    register_supernet(
        "test_mbv3_tiny",
        "tiny MBv3 layout (3 stages, 8-16 channels, 16-24 px) for fast tests",
        lambda n: MBv3Space(tiny_mbv3_layout(n), resolutions=(16, 20, 24)),
        mobilenet,
        default_num_classes=10,
    )
    # OFA-ProxylessNAS: the same network class over the ProxylessNAS rows (arch/proxyless_layout.py)
    register_supernet(
        "ofa_proxyless_w13",
        "OFA-ProxylessNAS w1.3 (d234 e346 k357), ImageNet layout, 128-224 px",
        lambda n: MBv3Space(proxyless_layout(1.3, n), resolutions=IMAGENET_RESOLUTIONS),
        mobilenet,
    )
    register_supernet(
        "ofa_proxyless_w13_small_input",
        "OFA-ProxylessNAS w1.3 for 24-32 px images: first stage without stride (16x downsampling)",
        lambda n: MBv3Space(
            proxyless_layout(1.3, n, small_input=True), resolutions=SMALL_INPUT_RESOLUTIONS
        ),
        mobilenet,
        default_num_classes=10,
    )
    register_supernet(
        "test_proxyless_tiny",
        "tiny ProxylessNAS layout (ReLU6, no SE, fixed last stage, 16-24 px) for fast tests",
        lambda n: MBv3Space(tiny_proxyless_layout(n), resolutions=(16, 20, 24)),
        mobilenet,
        default_num_classes=10,
    )
    register_supernet(
        "ofa_resnet50",
        "OFA-ResNet50 (d0-1-2 e0.2-0.25-0.35 w0.65-0.8-1.0), ImageNet layout, 128-256 px",
        lambda n: ResNetSpace(resnet50_layout(n), resolutions=RESNET50_RESOLUTIONS),
        resnet,
    )
    register_supernet(
        "ofa_resnet50_small_input",
        "OFA-ResNet50 for 24-32 px images: no max pool after the stem (16x downsampling)",
        lambda n: ResNetSpace(
            resnet50_layout(n, small_input=True), resolutions=SMALL_INPUT_RESOLUTIONS
        ),
        resnet,
        default_num_classes=10,
    )
    register_supernet(
        "test_resnet_tiny",
        "tiny OFA-ResNet layout (3 stages, 4-64 channels, 16-24 px) for fast tests",
        lambda n: ResNetSpace(
            tiny_resnet_layout(n), expand_ratios=TINY_EXPAND_RATIOS, resolutions=(16, 20, 24)
        ),
        resnet,
        default_num_classes=10,
    )


_register()
