"""Latency operators: frozen values with stable string keys, and the grid of a space (torch-free).

A latency table measures each distinct operator of a space once. Every family describes its
operators as frozen dataclasses whose first two fields are `input_size` and `in_channels`, with a
`kind` and one `label` per field; a key reads like
`mbconv-in:14x14x40-mid:160-out:40-k:5-s:1-expand:1-se:1-res:1-act:relu`: the kind, then
`label:value` pairs in field order (the first folds the input size and channels into `SxSxC`).

A family's operator grid says, for one resolution, which operators run in every sub-network
(`fixed`) and which operator each entry of the space's slot table (arch/slot_table.py) stands for,
so a table of operator timings becomes the space's `ResolutionTable` of milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Protocol

import numpy as np

from onceforall.errors import LatencyTableError


class Operator(Protocol):
    kind: ClassVar[str]
    labels: ClassVar[tuple[str, ...]]

    @property
    def input_size(self) -> int: ...

    @property
    def in_channels(self) -> int: ...

    def __hash__(self) -> int: ...


class OperatorGrid(Protocol):
    """The operators of a space at one resolution."""

    @property
    def resolution(self) -> int: ...

    @property
    def fixed(self) -> tuple[Operator, ...]:
        """Operators every sub-network runs."""

    def operators(self) -> list[Operator]:
        """Every distinct operator, in network order."""

    def slot_values(self, value_of: Mapping[Operator, float]) -> np.ndarray:
        """Float64 values in the space's slot-table shape: `value_of` each entry's operator."""


@dataclass(frozen=True)
class FlatOperatorGrid:
    """An operator grid whose slot table is flat: `entries[i]` is entry i's operator (None for an
    entry no sub-network of the space reads, valued 0)."""

    resolution: int
    fixed: tuple[Operator, ...]
    entries: tuple[Operator | None, ...]
    shape: tuple[int, ...] | None = None  # the slot table's shape, when it is not flat

    def operators(self) -> list[Operator]:
        seen: dict[Operator, None] = dict.fromkeys(self.fixed)
        seen.update(dict.fromkeys(op for op in self.entries if op is not None))
        return list(seen)

    def slot_values(self, value_of: Mapping[Operator, float]) -> np.ndarray:
        values = np.array(
            [0.0 if op is None else value_of[op] for op in self.entries], dtype=np.float64
        )
        return values if self.shape is None else values.reshape(self.shape)


def operator_key(op: Operator) -> str:
    """The stable string form of an operator (see the module docstring)."""
    values: list[str] = []
    for f in fields(op)[2:]:  # type: ignore[arg-type]  # every operator is a dataclass
        value = getattr(op, f.name)
        values.append(str(int(value)) if isinstance(value, bool) else str(value))
    parts = [f"{op.input_size}x{op.input_size}x{op.in_channels}", *values]
    return "-".join([op.kind, *(f"{label}:{v}" for label, v in zip(op.labels, parts, strict=True))])


def operator_from_key(key: str, types: Sequence[type[Any]]) -> Operator:
    """Parse `operator_key`'s output for one of `types`; LatencyTableError if it is not one."""
    kind, _, rest = key.partition("-")
    by_kind = {t.kind: t for t in types}
    if kind not in by_kind:
        raise LatencyTableError(f"unknown operator kind {kind!r} in key {key!r}")
    op_type = by_kind[kind]
    pairs = [item.partition(":") for item in rest.split("-")] if rest else []
    labels = tuple(label for label, _, _ in pairs)
    if labels != op_type.labels:
        raise LatencyTableError(
            f"operator key {key!r}: expected the fields {'-'.join(op_type.labels)}"
        )
    try:
        height, width, in_channels = (int(v) for v in pairs[0][2].split("x"))
        if height != width:
            raise ValueError("not square")
        values: list[object] = [height, in_channels]
        for (_, _, text), f in zip(pairs[1:], fields(op_type)[2:], strict=True):
            if f.type == "bool":
                if text not in ("0", "1"):
                    raise ValueError(text)
                values.append(text == "1")
            elif f.type == "int":
                values.append(int(text))
            else:
                values.append(text)
    except ValueError as error:
        raise LatencyTableError(f"malformed operator key {key!r}: {error}") from None
    result: Operator = op_type(*values)
    return result
