"""Activation modules by layout name (stock torch modules, so exported nets need nothing else)."""

from __future__ import annotations

from torch import nn

from onceforall.arch.mbv3_layout import Activation


def build_activation(name: Activation) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    if name == "relu6":
        return nn.ReLU6()
    if name == "hswish":
        return nn.Hardswish()
    raise ValueError(f"unknown activation {name!r}; expected relu, relu6 or hswish")
