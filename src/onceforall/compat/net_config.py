"""Import the reference's specialized sub-network configs (``net.config`` + ``run.config``).

A ``net.config`` describes a static network block by block. It is matched against the layouts of
the registered MobileNet-style supernets (stem, widths, strides, activations, SE, head); the
blocks are then grouped into stages and read as an Arch of that supernet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onceforall.arch.channels import make_divisible
from onceforall.arch.mbv3 import MBv3Arch, MBv3Block, MBv3Space
from onceforall.arch.mbv3_layout import MBv3Layout
from onceforall.errors import ArchError

_ACTIVATIONS = {"h_swish": "hswish", "relu": "relu", "relu6": "relu6"}


@dataclass(frozen=True)
class ImportedArch:
    supernet: str
    arch: MBv3Arch


def _block(config: dict[str, Any]) -> dict[str, Any]:
    layer = config.get("mobile_inverted_conv") or config.get("conv")
    if not isinstance(layer, dict):
        raise ArchError("a block of the net.config has no 'mobile_inverted_conv'/'conv' layer")
    return layer


def _read_stages(layout: MBv3Layout, blocks: list[dict[str, Any]]) -> list[list[MBv3Block]] | None:
    """The elastic blocks grouped by stage, or None if the blocks do not follow `layout`."""
    stages: list[list[MBv3Block]] = []
    position = 1
    for s, stage in enumerate(layout.stages):
        found: list[MBv3Block] = []
        while position < len(blocks) and len(found) < stage.max_depth:
            layer = blocks[position]
            if layer["out_channels"] != stage.out_channels:
                break
            first = not found
            in_channels = layout.stage_in_channels(s) if first else stage.out_channels
            if (
                layer["stride"] != (stage.stride if first else 1)
                or layer["in_channels"] != in_channels
                or _ACTIVATIONS.get(layer["act_func"]) != stage.activation
                or bool(layer.get("use_se")) != stage.use_se
            ):
                return None
            expand = layer["expand_ratio"]
            if float(expand) != int(expand):
                return None
            mid = layer.get("mid_channels")
            if mid is not None and mid != make_divisible(
                round(in_channels * expand), layout.channel_divisor
            ):
                return None
            found.append(MBv3Block(int(layer["kernel_size"]), int(expand)))
            position += 1
        if not found:
            return None
        stages.append(found)
    return stages if position == len(blocks) else None


def _head_matches(layout: MBv3Layout, config: dict[str, Any]) -> bool:
    head = layout.head
    final_expand = config.get("final_expand_layer")
    feature_mix = config.get("feature_mix_layer")
    if head.pre_pool_channels is not None and head.post_pool_channels is not None:
        return (
            isinstance(final_expand, dict)
            and final_expand["out_channels"] == head.pre_pool_channels
            and isinstance(feature_mix, dict)
            and feature_mix["out_channels"] == head.post_pool_channels
            and not feature_mix.get("use_bn", False)
        )
    if head.pre_pool_channels is not None:
        return (
            final_expand is None
            and isinstance(feature_mix, dict)
            and feature_mix["out_channels"] == head.pre_pool_channels
            and bool(feature_mix.get("use_bn", True))
        )
    return False


def arch_from_net_config(config: dict[str, Any], image_size: int) -> ImportedArch:
    """The registered supernet whose layout the config follows, and the config as its Arch."""
    from onceforall.models.registry import list_supernets, supernet_space

    try:
        blocks = [_block(b) for b in config["blocks"]]
        num_classes = int(config["classifier"]["out_features"])
        stem = config["first_conv"]
    except (KeyError, TypeError) as error:
        raise ArchError(f"not a reference net.config: missing {error}") from None
    for name in list_supernets():
        space = supernet_space(name, num_classes)
        if not isinstance(space, MBv3Space):
            continue
        layout = space.layout
        first = layout.first_block
        if (
            stem["out_channels"] != layout.stem.out_channels
            or stem["stride"] != layout.stem.stride
            or not blocks
            or blocks[0]["out_channels"] != first.out_channels
            or blocks[0]["stride"] != first.stride
            or not _head_matches(layout, config)
        ):
            continue
        stages = _read_stages(layout, blocks)
        if stages is None:
            continue
        arch = MBv3Arch(int(image_size), tuple(tuple(stage) for stage in stages))
        space.validate(arch, any_resolution=True)
        return ImportedArch(name, arch)
    raise ArchError("the net.config does not follow the layout of any registered supernet")


def load_specialized(folder: Path) -> ImportedArch:
    """Read ``folder/net.config`` and the resolution from ``folder/run.config`` (``image_size``)."""
    net_path = folder / "net.config"
    run_path = folder / "run.config"
    if not net_path.is_file():
        raise ArchError(f"no net.config in {folder}")
    if not run_path.is_file():
        raise ArchError(f"no run.config in {folder} (it holds the image_size)")
    try:
        config = json.loads(net_path.read_text())
        image_size = json.loads(run_path.read_text())["image_size"]
    except (json.JSONDecodeError, KeyError) as error:
        raise ArchError(f"unreadable config in {folder}: {error}") from None
    if isinstance(image_size, list):
        image_size = image_size[-1]
    return arch_from_net_config(config, int(image_size))
