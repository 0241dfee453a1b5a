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
from onceforall.arch.mbv3 import MBv3Arch, MBv3Block
from onceforall.arch.mbv3_layout import MBv3Layout
from onceforall.errors import ArchError

_ACTIVATIONS = {"h_swish": "hswish", "relu": "relu", "relu6": "relu6"}
_MOBILE_NETWORKS = ("MobileNetV3", "ProxylessNASNets")


@dataclass(frozen=True)
class ImportedArch:
    supernet: str
    arch: MBv3Arch


def _is_identity(config: dict[str, Any]) -> bool:
    """A block whose layer is a ZeroLayer: the reference's residual block then returns its input
    (the original ProxylessNAS configs mark skipped blocks so)."""
    layer = config.get("mobile_inverted_conv") or config.get("conv")
    return isinstance(layer, dict) and layer.get("name") == "ZeroLayer"


def _block(config: dict[str, Any]) -> dict[str, Any]:
    layer = config.get("mobile_inverted_conv") or config.get("conv")
    if not isinstance(layer, dict):
        raise ArchError("a block of the net.config has no 'mobile_inverted_conv'/'conv' layer")
    return layer


def _read_stages(layout: MBv3Layout, blocks: list[dict[str, Any]]) -> list[list[MBv3Block]] | str:
    """The elastic blocks grouped by stage, or why the blocks do not follow `layout`."""
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
                # the reference's MBConvLayer defaults: relu6, no squeeze-excite
                or _ACTIVATIONS.get(layer.get("act_func", "relu6")) != stage.activation
                or bool(layer.get("use_se")) != stage.use_se
            ):
                return f"block {position} differs from stage {s} (stride, input, activation or SE)"
            expand = layer["expand_ratio"]
            mid = layer.get("mid_channels")
            if float(expand) != int(expand) or (
                mid is not None
                and mid != make_divisible(round(in_channels * expand), layout.channel_divisor)
            ):
                return f"block {position} has expand ratio {expand} / {mid} channels"
            found.append(MBv3Block(int(layer["kernel_size"]), int(expand)))
            position += 1
        if not found:
            got = blocks[position]["out_channels"] if position < len(blocks) else "no block"
            return (
                f"stage {s} has {stage.out_channels} channels, the config's block {position} {got}"
            )
        stages.append(found)
    if position != len(blocks):
        return f"the config has {len(blocks) - position} blocks more than the layout"
    return stages


def _layout_mismatch(layout: MBv3Layout, config: dict[str, Any], blocks: list[Any]) -> str | None:
    """Why the stem or first block do not follow `layout` (None if they do)."""
    stem, first = config["first_conv"], layout.first_block
    if stem["out_channels"] != layout.stem.out_channels or stem["stride"] != layout.stem.stride:
        return (
            f"its stem has {stem['out_channels']} channels, the layout {layout.stem.out_channels}"
        )
    if not blocks or blocks[0]["out_channels"] != first.out_channels:
        return "its first block differs"
    if blocks[0]["stride"] != first.stride:
        return "its first block has another stride"
    return None


def _head_mismatch(layout: MBv3Layout, config: dict[str, Any]) -> str | None:
    if _head_matches(layout, config):
        return None
    widths = (layout.head.pre_pool_channels, layout.head.post_pool_channels)
    return f"its head differs from the layout's ({', '.join(str(w) for w in widths if w)})"


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
    """The registered supernet whose layout the config follows, and the config as its Arch.

    Blocks whose layer is a ZeroLayer (identity) are dropped first, so the original ProxylessNAS
    configs import as the shallower stages they compute.
    """
    from onceforall.families.registry import family_of
    from onceforall.models.registry import list_supernets, supernet_space

    kind = config.get("name") if isinstance(config, dict) else None
    if kind not in (None, *_MOBILE_NETWORKS):
        raise ArchError(f"a {kind} net.config: only {', '.join(_MOBILE_NETWORKS)} are importable")
    try:
        blocks = [_block(b) for b in config["blocks"] if not _is_identity(b)]
        num_classes = int(config["classifier"]["out_features"])
        config["first_conv"]["out_channels"]
    except (KeyError, TypeError) as error:
        raise ArchError(f"not a reference net.config: missing {error}") from None
    reasons = []
    for name in list_supernets():
        space = supernet_space(name, num_classes)
        if not family_of(space).imports_net_config:
            continue
        layout = space.layout
        try:
            stages = _layout_mismatch(layout, config, blocks) or _read_stages(layout, blocks)
        except KeyError as error:
            raise ArchError(f"not a reference net.config: a layer has no {error}") from None
        if not isinstance(stages, str):
            stages = _head_mismatch(layout, config) or stages
        if isinstance(stages, str):
            if not name.startswith("test_"):
                reasons.append(f"{name}: {stages}")
            continue
        arch = MBv3Arch(int(image_size), tuple(tuple(stage) for stage in stages))
        space.validate(arch, any_resolution=True)
        return ImportedArch(name, arch)
    raise ArchError(
        "the net.config does not follow the layout of any registered supernet ("
        + "; ".join(reasons)
        + ")"
    )


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
