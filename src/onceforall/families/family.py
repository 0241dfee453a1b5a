"""The family record: everything the layers above the models need to know about a kind of space.

A family (OFA-MobileNetV3 and ProxylessNAS share one: their sub-networks are `MBv3Arch` values of
an `MBv3Space`; OFA-ResNet is another; an elastified user network will be one more) is registered
once (families/registry.py), and latency tables, accuracy predictors, search and export ask
`family_of(space)` instead of testing types. What the space itself answers (sampling, the codec
`space.parse`, reference dicts `space.from_reference_dict` / `to_reference_dict`, MACs and
params from its slot tables) stays on the space; the record adds what lives above it:

- the supernet class that holds the weights (`build_supernet(space, **options)`),
- the accuracy predictor's features (`feature_encoding(space)`, `encoding_from_json`),
- the latency operators (`operator_grid(space, resolution)`, `operator_module(op, layout)`) and
  the space choices a latency table records (`latency_choices`),
- which reference formats it reads (the Note10 YAML latency tables, specialized net.configs).

The torch side (the supernet class, the operator modules) is named by a `PluginRef` and imported
when first used, so that parsing archs, loading latency tables and the CLI's argument parsing
stay free of torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from onceforall.families.operators import Operator, OperatorGrid

if TYPE_CHECKING:
    from torch import nn


class FeatureEncoding(Protocol):
    """How sub-networks of a space become the accuracy predictor's input vectors."""

    @property
    def width(self) -> int: ...

    def to_json(self) -> dict[str, Any]: ...

    def check_space(self, space: Any) -> None:
        """PredictorError unless every sub-network of `space` has an encoding here."""

    def encode(self, space: Any, population: np.ndarray) -> np.ndarray:
        """Float32 features, one row per row of `space`'s population matrix."""


@dataclass(frozen=True)
class PluginRef:
    """A function or class named by its module and attribute, imported when loaded."""

    module: str
    name: str

    def load(self) -> Any:
        return getattr(importlib.import_module(self.module), self.name)


@dataclass(frozen=True)
class Family:
    """One family's plug-ins (see the module docstring)."""

    name: str
    space_type: type[Any]
    supernet_class: PluginRef  # called as (space, **options)
    feature_encoding: Callable[[Any], FeatureEncoding]
    encoding_from_json: Callable[[Any], FeatureEncoding]
    # the "family" value in the encoding's JSON; None: an encoding written without one (MBv3's)
    encoding_tag: str | None
    latency_choices: tuple[str, ...]  # space fields a latency table records and restricts
    operator_grid: Callable[[Any, int], OperatorGrid]
    operator_module: PluginRef  # (op, layout) -> (torch module, input shape without batch)
    operator_types: tuple[type[Any], ...]
    reads_reference_latency_tables: bool = False  # the reference's YAML tables (ofa/note10)
    imports_net_config: bool = False  # the reference's specialized net.config files

    def build_supernet(self, space: Any, **options: Any) -> nn.Module:
        """A supernet with fresh weights over `space`."""
        net: nn.Module = self.supernet_class.load()(space, **options)
        return net

    def operator_torch_module(
        self, op: Operator, layout: Any
    ) -> tuple[nn.Module, tuple[int, int, int]]:
        """The static module a sub-network runs for `op`, and its input shape (C, H, W)."""
        result: tuple[nn.Module, tuple[int, int, int]] = self.operator_module.load()(op, layout)
        return result

    def latency_choice_values(self, space: Any) -> dict[str, list[Any]]:
        """The choices a latency table of `space` records (JSON-ready)."""
        return {name: list(getattr(space, name)) for name in self.latency_choices}
