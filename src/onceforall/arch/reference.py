"""Conversion to and from the reference implementation's architecture dicts.

The reference describes a sub-network as ``{"ks": [...], "e": [...], "d": [...], "r": [R]}`` with
one kernel size and expand ratio per block *slot* (skipped blocks included, their values ignored),
one depth per stage, and the resolution as ``r: [R]`` or ``image_size``. This is an import/export
format only; inside the library an Arch stores just the blocks that run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from onceforall.arch.mbv3 import MBv3Arch, MBv3Block
from onceforall.errors import ArchError

if TYPE_CHECKING:
    from onceforall.arch.mbv3 import MBv3Space


def reference_resolution(ref: dict[str, Any], resolution: int | None) -> int:
    """The resolution of a reference dict: ``r`` or ``image_size`` (an int or a 1-list)."""
    found = [ref[key] for key in ("r", "image_size") if key in ref]
    if resolution is not None:
        return int(resolution)
    if not found:
        raise ArchError("the reference dict has no resolution ('r' or 'image_size'); pass one")
    value = found[0]
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ArchError(f"'r' must hold one resolution, got {value}")
        value = value[0]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ArchError(f"the resolution must be an integer, got {value!r}")
    return value


def int_list(ref: dict[str, Any], key: str, length: Sequence[int]) -> list[int]:
    if key not in ref:
        raise ArchError(f"the reference dict has no '{key}'")
    values = ref[key]
    if not isinstance(values, (list, tuple)) or len(values) not in length:
        expected = " or ".join(str(n) for n in sorted(set(length)))
        raise ArchError(f"'{key}' must be a list of {expected} integers, got {values!r}")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ArchError(f"'{key}' must hold integers, got {values!r}")
    return list(values)


def mbv3_from_reference_dict(
    ref: dict[str, Any], space: MBv3Space, resolution: int | None = None
) -> MBv3Arch:
    if not isinstance(ref, dict):
        raise ArchError(f"a reference arch is a dict, got {type(ref).__name__}")
    unknown = set(ref) - {"ks", "e", "d", "r", "image_size", "wid"}
    if unknown:
        raise ArchError(f"unknown keys in the reference dict: {sorted(unknown)}")
    if ref.get("wid") not in (None, [], 0):
        raise ArchError("'wid' (width choices) is not part of this space")
    slots = space.layout.slots_per_stage
    elastic = [s for s, stage in enumerate(space.layout.stages) if stage.elastic_depth]
    kernel_sizes = int_list(ref, "ks", [sum(slots)])
    expand_ratios = int_list(ref, "e", [sum(slots)])
    # The reference lists a depth for every stage or only for the elastic ones; a fixed stage's
    # entry is ignored (the reference clips it to the stage's block count).
    depths_in = int_list(ref, "d", [len(slots), len(elastic)])
    depths = [stage.max_depth for stage in space.layout.stages]
    for position, s in enumerate(range(len(slots)) if len(depths_in) == len(slots) else elastic):
        if space.layout.stages[s].elastic_depth:
            depths[s] = depths_in[position]
    stages = []
    offset = 0
    for s, n_slots in enumerate(slots):
        if not 1 <= depths[s] <= n_slots:
            raise ArchError(f"'d'[{s}]={depths[s]} must be within 1..{n_slots}")
        stages.append(
            tuple(
                MBv3Block(kernel_sizes[offset + b], expand_ratios[offset + b])
                for b in range(depths[s])
            )
        )
        offset += n_slots
    return MBv3Arch(reference_resolution(ref, resolution), tuple(stages))


def mbv3_to_reference_dict(arch: MBv3Arch, slots_per_stage: Sequence[int]) -> dict[str, Any]:
    """Pad skipped slots with the stage's last active block (the reference ignores them)."""
    if len(slots_per_stage) != len(arch.stages):
        raise ArchError(
            f"the arch has {len(arch.stages)} stages, {len(slots_per_stage)} slot counts given"
        )
    ks: list[int] = []
    es: list[int] = []
    for stage, n_slots in zip(arch.stages, slots_per_stage, strict=True):
        if len(stage) > n_slots:
            raise ArchError(f"a stage has {len(stage)} blocks but only {n_slots} slots")
        padded = list(stage) + [stage[-1]] * (n_slots - len(stage))
        ks += [b.kernel_size for b in padded]
        es += [b.expand_ratio for b in padded]
    return {"ks": ks, "e": es, "d": list(arch.depths), "r": [arch.resolution]}
