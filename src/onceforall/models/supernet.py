"""What every supernet family offers: one way to set the active sub-network, export, and load."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

import torch
from torch import Tensor, nn

from onceforall.arch.space import Space
from onceforall.errors import StateDictError

ArchT = TypeVar("ArchT")


class Supernet(nn.Module, Generic[ArchT]):
    """A weight-sharing network over `space`.

    `set_arch` is the only way to change the active sub-network; `forward` reads it and writes no
    state (besides batch-norm statistics in training mode, as any network does).
    """

    name: str = ""
    # Every nn.Sequential in `static(arch)` is only ever called whole (the library's own static
    # modules): a copy made for BN re-calibration and evaluation may then fold its batch norms and
    # run activations in place (nn/inference.py). A user network's forward may reach inside one.
    static_sequentials_called_whole: bool = False

    def __init__(self, space: Space[ArchT]) -> None:
        super().__init__()
        self.space = space
        self._arch: ArchT = space.max()

    @property
    def arch(self) -> ArchT:
        """The active sub-network."""
        return self._arch

    def set_arch(self, arch: ArchT) -> None:
        """Activate `arch` (any resolution is accepted: the network runs at any input size)."""
        self.space.validate(arch, any_resolution=True)
        self._apply_arch(arch)
        self._arch = arch

    @contextmanager
    def using(self, arch: ArchT) -> Iterator[ArchT]:
        """Activate `arch` inside the block; the previous arch comes back afterwards."""
        previous = self._arch
        self.set_arch(arch)
        try:
            yield arch
        finally:
            self.set_arch(previous)

    def sample_arch(self, generator: Any) -> ArchT:
        return self.space.sample(generator)

    @abstractmethod
    def _apply_arch(self, arch: ArchT) -> None:
        """Set each block's active setting (arch already validated)."""

    @abstractmethod
    def static(self, arch: ArchT) -> nn.Module:
        """The sub-network as onceforall's static modules with cloned weights."""

    @abstractmethod
    def forward(self, x: Tensor) -> Tensor: ...

    @abstractmethod
    def elastic_blocks(self) -> Iterator[nn.Module]:
        """Every elastic block, active or not, in network order."""

    @abstractmethod
    def active_blocks(self) -> Sequence[nn.Module]:
        """The elastic blocks of the active sub-network, in network order."""

    @abstractmethod
    def reorder_channels(self, keep_expand_ratios: Sequence[Any] = ()) -> None:
        """Sort every block's expanded channels by importance (before an elastic-width phase).

        `keep_expand_ratios`: ratios trained in earlier phases, whose channel sets are kept.
        """

    @abstractmethod
    def reference_keys(self, key: str) -> tuple[str, ...]:
        """The reference implementation's names of one of our state-dict keys, normalized as
        compat.state_dict does (the first is the supernet's; others are accepted aliases)."""

    @torch.no_grad()
    def export(self, arch: ArchT | None = None) -> torch.fx.GraphModule:
        """A standalone network of stock torch modules for `arch` (default: the active one).

        The result is a `torch.fx.GraphModule` in eval mode: it runs, pickles and loads without
        onceforall, and for the same input its outputs equal the supernet's for that arch.
        """
        target = self._arch if arch is None else arch
        self.space.validate(target, any_resolution=True)
        static = self.static(target)
        graph_module = torch.fx.symbolic_trace(static)
        # Postponed annotations reach the graph as strings, which cannot be pickled: drop them.
        for node in graph_module.graph.nodes:
            node.type = None
        graph_module.recompile()
        graph_module.meta["onceforall"] = {"supernet": self.name, "arch": str(target)}
        return graph_module.eval()

    # --- loading ---------------------------------------------------------------------------

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> Any:
        """`nn.Module.load_state_dict`, with one StateDictError listing every mismatch."""
        if strict:
            check_state_dict(self, state_dict)
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def load_reference_state_dict(self, state_dict: Mapping[str, Tensor]) -> None:
        """Load weights saved by the reference implementation (its key layout)."""
        from onceforall.compat.state_dict import from_reference_state_dict

        self.load_state_dict(from_reference_state_dict(self, state_dict))


def check_state_dict(module: nn.Module, state_dict: Mapping[str, Any]) -> None:
    """Raise StateDictError naming missing, unexpected and mis-shaped keys, all at once."""
    own = module.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    misshaped = [
        f"{k} {tuple(state_dict[k].shape)} != {tuple(own[k].shape)}"
        for k in own
        if k in state_dict
        and hasattr(state_dict[k], "shape")
        and tuple(state_dict[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or misshaped:
        parts = []
        for label, keys in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("mis-shaped", misshaped),
        ):
            if keys:
                shown = ", ".join(keys[:5]) + (
                    f", ... ({len(keys)} in all)" if len(keys) > 5 else ""
                )
                parts.append(f"{label}: {shown}")
        raise StateDictError("the state dict does not fit the network; " + "; ".join(parts))
