"""onceforall: train one weight-sharing supernet, specialize sub-networks for every device.

    import onceforall
    net = onceforall.create_supernet("ofa_mbv3_w10", num_classes=1000)
    arch = net.space.sample(numpy.random.default_rng(0))
    net.set_arch(arch); logits = net(x)
    static = net.export(arch)

Names are imported lazily, so `import onceforall.arch` stays free of torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "create_supernet": "onceforall.models.registry",
    "list_supernets": "onceforall.models.registry",
    "supernet_space": "onceforall.models.registry",
    "register_supernet": "onceforall.models.registry",
    "Supernet": "onceforall.models.supernet",
    "OFAMobileNetV3": "onceforall.models.mbv3",
    "MBv3Arch": "onceforall.arch.mbv3",
    "MBv3Block": "onceforall.arch.mbv3",
    "MBv3Space": "onceforall.arch.mbv3",
    "OFAResNet": "onceforall.models.resnet",
    "ResNetArch": "onceforall.arch.resnet",
    "ResNetStage": "onceforall.arch.resnet",
    "ResNetStem": "onceforall.arch.resnet",
    "ResNetSpace": "onceforall.arch.resnet_space",
    "Space": "onceforall.arch.space",
    "reorder_channels": "onceforall.nn.reorder",
    "load_specialized": "onceforall.compat.net_config",
    "OnceForAllError": "onceforall.errors",
    "elastify": "onceforall.elastify",
    "elastic_model": "onceforall.elastify.user_model",
    "ElastifiedSupernet": "onceforall.elastify.supernet",
    "ElastifiedArch": "onceforall.arch.elastified",
    "ElastifiedSpace": "onceforall.arch.elastified",
    "ArchError": "onceforall.errors",
}

__all__ = [
    "ArchError",
    "ElastifiedArch",
    "ElastifiedSpace",
    "ElastifiedSupernet",
    "MBv3Arch",
    "MBv3Block",
    "MBv3Space",
    "OFAMobileNetV3",
    "OFAResNet",
    "OnceForAllError",
    "ResNetArch",
    "ResNetSpace",
    "ResNetStage",
    "ResNetStem",
    "Space",
    "Supernet",
    "create_supernet",
    "elastic_model",
    "elastify",
    "list_supernets",
    "load_specialized",
    "register_supernet",
    "reorder_channels",
    "supernet_space",
]

if TYPE_CHECKING:
    from onceforall.arch.elastified import ElastifiedArch, ElastifiedSpace
    from onceforall.arch.mbv3 import MBv3Arch, MBv3Block, MBv3Space
    from onceforall.arch.resnet import ResNetArch, ResNetStage, ResNetStem
    from onceforall.arch.resnet_space import ResNetSpace
    from onceforall.arch.space import Space
    from onceforall.compat.net_config import load_specialized
    from onceforall.elastify import elastify
    from onceforall.elastify.supernet import ElastifiedSupernet
    from onceforall.elastify.user_model import elastic_model
    from onceforall.errors import ArchError, OnceForAllError
    from onceforall.models.mbv3 import OFAMobileNetV3
    from onceforall.models.registry import (
        create_supernet,
        list_supernets,
        register_supernet,
        supernet_space,
    )
    from onceforall.models.resnet import OFAResNet
    from onceforall.models.supernet import Supernet
    from onceforall.nn.reorder import reorder_channels


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'onceforall' has no attribute {name!r}")
