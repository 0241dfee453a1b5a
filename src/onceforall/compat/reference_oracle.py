"""Import the reference implementation (PyPI package `ofa`), when installed, as a test oracle.

The reference imports torchvision at import time, which cannot be installed beside a CPU torch
here; its model code does not use it. Stand-in modules are registered only for names that are not
importable, then the reference is imported. Used by tests and benchmarks, never by the library.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any


class ReferenceUnavailable(ImportError):
    pass


def _stand_in(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__path__ = []  # a package, so that submodules can hang under it

    def missing_attribute(attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return type(attr, (), {})  # a placeholder class: only subclassed/named, never used

    module.__getattr__ = missing_attribute  # type: ignore[method-assign]
    return module


def _install_stand_ins() -> None:
    import torch  # noqa: F401  (imported first: the stand-ins must not shadow anything of torch)

    names = [
        "torchvision",
        "torchvision.transforms",
        "torchvision.transforms.functional",
        "torchvision.datasets",
    ]
    if "torchvision" not in sys.modules and importlib.util.find_spec("torchvision") is None:
        for name in names:
            sys.modules.setdefault(name, _stand_in(name))
        sys.modules["torchvision"].transforms = sys.modules["torchvision.transforms"]  # type: ignore[attr-defined]
        sys.modules["torchvision"].datasets = sys.modules["torchvision.datasets"]  # type: ignore[attr-defined]
    if "torch._six" not in sys.modules:
        try:
            importlib.import_module("torch._six")
        except ImportError:
            six = types.ModuleType("torch._six")
            six.string_classes = (str, bytes)  # type: ignore[attr-defined]
            sys.modules["torch._six"] = six


def import_reference(module: str = "ofa.imagenet_classification.elastic_nn.networks") -> Any:
    """Import a module of the reference implementation; ReferenceUnavailable if not installed."""
    if importlib.util.find_spec("ofa") is None:
        raise ReferenceUnavailable(
            "the reference implementation is not installed: pip install --no-deps ofa"
        )
    _install_stand_ins()
    return importlib.import_module(module)


# How the reference's model zoo builds the released supernets, by our registry names.
_MOBILE_CHOICES = {"ks_list": [3, 5, 7], "expand_ratio_list": [3, 4, 6], "depth_list": [2, 3, 4]}
_REFERENCE_SUPERNETS: dict[str, tuple[str, dict[str, Any]]] = {
    "ofa_mbv3_w10": ("OFAMobileNetV3", {"width_mult": 1.0, **_MOBILE_CHOICES}),
    "ofa_mbv3_w12": ("OFAMobileNetV3", {"width_mult": 1.2, **_MOBILE_CHOICES}),
    "ofa_proxyless_w13": ("OFAProxylessNASNets", {"width_mult": 1.3, **_MOBILE_CHOICES}),
    "ofa_resnet50": (
        "OFAResNets",
        {
            "depth_list": [0, 1, 2],
            "expand_ratio_list": [0.2, 0.25, 0.35],
            "width_mult_list": [0.65, 0.8, 1.0],
        },
    ),
}


def reference_supernet(name: str, num_classes: int = 1000) -> Any:
    """The reference's elastic network of one of our registered reference supernets, built as
    its model zoo builds the released one (without dropout, fresh weights)."""
    if name not in _REFERENCE_SUPERNETS:
        raise ValueError(
            f"no reference network for {name!r}; known: {sorted(_REFERENCE_SUPERNETS)}"
        )
    networks = import_reference("ofa.imagenet_classification.elastic_nn.networks")
    class_name, options = _REFERENCE_SUPERNETS[name]
    return getattr(networks, class_name)(n_classes=num_classes, dropout_rate=0, **options)
