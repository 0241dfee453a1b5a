"""From the analyses of a traced network to its genes, cost tables and a layer-by-layer report."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from onceforall.arch.channels import make_divisible
from onceforall.arch.elastified import ElastifiedSpace, Gene, LayerCost, Owner
from onceforall.elastify.channels import ChannelAnalysis, LayerChannels
from onceforall.elastify.depth import DepthAnalysis, ElasticStage
from onceforall.elastify.trace import TracedNetwork


@dataclass(frozen=True)
class ElastifyOptions:
    """What `elastify` may change (see `onceforall.elastify`)."""

    width_ratios: tuple[float, ...] = (0.5, 0.75, 1.0)
    kernel_sizes: tuple[int, ...] = (3, 5, 7)
    max_dropped_blocks: int = 2
    channel_divisor: int = 8
    resolutions: tuple[int, ...] = ()  # () = the example input's


@dataclass(frozen=True)
class ElastifyPlan:
    """Everything the elastified supernet needs to know about the user's network."""

    space: ElastifiedSpace
    stages: tuple[ElasticStage, ...]  # depth gene i sets stages[i]
    width_groups: tuple[int, ...]  # width gene i sets the channels of this analysis group
    kernel_layers: tuple[str, ...]  # kernel gene i sets this convolution
    layers: tuple[LayerChannels, ...]  # every conv / linear / batch norm, with its (root) groups
    group_channels: dict[int, int]  # group -> its full channel count
    group_of_gene: dict[int, int]  # group -> width gene index (elastic groups only)
    report: tuple[str, ...]


def _inside(path: str, block: str) -> bool:
    return path == block or path.startswith(block + ".")


def _owners(path: str, stages: Sequence[ElasticStage], first_column: int) -> tuple[Owner, ...]:
    """The (depth gene, position) conditions under which `path` runs."""
    owners = []
    for index, stage in enumerate(stages):
        for position in range(stage.min_depth, stage.blocks):
            if _inside(path, stage.children[position]):
                owners.append((first_column + index, position))
    return tuple(owners)


def _widths(channels: int, options: ElastifyOptions) -> tuple[tuple[int, ...], tuple[float, ...]]:
    by_width: dict[int, float] = {}
    for ratio in sorted(options.width_ratios):
        width = min(channels, make_divisible(channels * ratio, options.channel_divisor))
        by_width[width] = ratio
    by_width[channels] = max(by_width.get(channels, 1.0), 1.0)
    widths = tuple(sorted(by_width))
    return widths, tuple(by_width[w] for w in widths)


def _kernel_choices(conv: nn.Conv2d, options: ElastifyOptions) -> tuple[tuple[int, ...], str]:
    """The kernel sizes a convolution may use, and why (when only its own)."""
    k = conv.kernel_size[0]
    if conv.kernel_size[0] != conv.kernel_size[1] or k % 2 == 0:
        return (k,), "kernel kept: not square and odd"
    same = conv.padding in ("same", (k // 2, k // 2)) and conv.dilation == (1, 1)
    if not same or conv.padding_mode != "zeros":
        return (k,), "kernel kept: padding is not k//2 (or dilated)"
    depthwise = conv.groups > 1 and conv.groups == conv.in_channels == conv.out_channels
    if k < 5 and not depthwise:
        return (k,), "kernel kept: dense and smaller than 5"
    choices = tuple(sorted({c for c in options.kernel_sizes if c % 2 == 1 and c < k} | {k}))
    return choices, "" if len(choices) > 1 else "kernel kept: no smaller size asked"


def plan_elastify(
    model: nn.Module,
    traced: TracedNetwork,
    channels: ChannelAnalysis,
    depth: DepthAnalysis,
    options: ElastifyOptions,
    num_classes: int | None,
    reference: str | None = None,
) -> ElastifyPlan:
    resolutions = tuple(sorted(traced.shapes))
    resolved = tuple(
        dataclasses.replace(
            layer,
            in_group=None if layer.in_group is None else channels.find(layer.in_group),
            out_group=None if layer.out_group is None else channels.find(layer.out_group),
        )
        for layer in channels.layers
    )
    stages = depth.stages
    genes: list[Gene] = [Gene("", "resolution", resolutions)]
    for stage in stages:
        genes.append(Gene(stage.path, "depth", stage.depths, _owners(stage.path, stages, 1)))
    modules = dict(model.named_modules())
    members: dict[int, list[str]] = {}
    for layer in resolved:
        for member in {layer.in_group, layer.out_group}:
            if member is not None:
                members.setdefault(member, []).append(layer.path)
    report: list[str] = []
    group_of_gene: dict[int, int] = {}
    width_groups: list[int] = []
    group_channels = {g.index: g.channels for g in channels.groups()}
    for candidate in channels.groups():
        if not candidate.elastic:
            continue
        widths, ratios = _widths(candidate.channels, options)
        if len(widths) < 2:
            candidate.fixed_reasons.append(
                f"too few channels for divisor {options.channel_divisor}"
            )
            continue
        paths = members.get(candidate.index, [])
        common = set(_owners(paths[0], stages, 1)) if paths else set()
        for path in paths[1:]:
            common &= set(_owners(path, stages, 1))
        group_of_gene[candidate.index] = len(width_groups)
        width_groups.append(candidate.index)
        name = "+".join(candidate.producers)
        genes.append(Gene(name, "width", widths, tuple(sorted(common)), ratios))
    kernel_layers: list[str] = []
    for layer in channels.layers:
        module = modules.get(layer.path)
        if not isinstance(module, nn.Conv2d):
            continue
        choices, _ = _kernel_choices(module, options)
        if len(choices) > 1:
            kernel_layers.append(layer.path)
            genes.append(Gene(layer.path, "kernel", choices, _owners(layer.path, stages, 1)))
    column = {("width", g): 1 + len(stages) + i for i, g in enumerate(width_groups)}
    first_kernel = 1 + len(stages) + len(width_groups)
    kernel_column = {path: first_kernel + i for i, path in enumerate(kernel_layers)}
    costs = [
        _layer_cost(layer, modules[layer.path], traced, channels, column, kernel_column, stages)
        for layer in channels.layers
        if layer.kind != "other"
    ]
    counted = {layer.path for layer in channels.layers if layer.kind != "other"}
    for name, parameter in model.named_parameters():
        owner = name.rsplit(".", 1)[0] if "." in name else ""
        if owner not in counted:
            costs.append(
                LayerCost(
                    name,
                    "other",
                    0,
                    0,
                    fixed_params=parameter.numel(),
                    owners=_owners(name, stages, 1),
                )
            )
    space = ElastifiedSpace(tuple(genes), tuple(costs), num_classes, reference)
    report = _report(channels, depth, kernel_layers, modules, options, group_of_gene)
    return ElastifyPlan(
        space,
        stages,
        tuple(width_groups),
        tuple(kernel_layers),
        resolved,
        group_channels,
        group_of_gene,
        tuple(report),
    )


def _layer_cost(
    layer: LayerChannels,
    module: nn.Module,
    traced: TracedNetwork,
    channels: ChannelAnalysis,
    column: dict[tuple[str, int], int],
    kernel_column: dict[str, int],
    stages: Sequence[ElasticStage],
) -> LayerCost:
    node = next(n for n in traced.graph.graph.nodes if n.name == layer.node)
    source = node.all_input_nodes[0]
    positions, input_sizes = [], []
    for resolution in sorted(traced.shapes):
        shape = traced.shape(node, resolution) or ()
        positions.append(math.prod(shape[2:]) if layer.kind != "linear" else math.prod(shape[1:-1]))
        incoming = traced.shape(source, resolution) or ()
        input_sizes.append(incoming[2] if len(incoming) > 2 else 1)
    stride, padding = 1, 0

    def gene(group: int | None) -> int | None:
        return None if group is None else column.get(("width", channels.find(group)))

    if isinstance(module, nn.Conv2d):
        cin, cout, k, groups = (
            module.in_channels,
            module.out_channels,
            module.kernel_size[0],
            module.groups,
        )
        bias = module.bias is not None
        stride = module.stride[0]
        padding = k // 2 if isinstance(module.padding, str) else module.padding[0]
    elif isinstance(module, nn.Linear):
        cin, cout, k, groups, bias = (
            module.in_features,
            module.out_features,
            1,
            1,
            module.bias is not None,
        )
    else:  # batch norm
        cin = cout = module.num_features  # type: ignore[assignment]
        k, groups, bias = 1, 1, False
    return LayerCost(
        path=layer.path,
        kind=layer.kind,
        in_channels=cin,
        out_channels=cout,
        in_gene=gene(layer.in_group),
        out_gene=gene(layer.out_group),
        kernel_size=k,
        kernel_gene=kernel_column.get(layer.path),
        groups=groups,
        bias=bias,
        positions=tuple(positions),
        input_sizes=tuple(input_sizes),
        stride=stride,
        padding=padding,
        owners=_owners(layer.path, stages, 1),
    )


def _report(
    channels: ChannelAnalysis,
    depth: DepthAnalysis,
    kernel_layers: list[str],
    modules: dict[str, nn.Module],
    options: ElastifyOptions,
    group_of_gene: dict[int, int],
) -> list[str]:
    lines = []
    for stage in depth.stages:
        kept = "/".join(map(str, stage.depths))
        lines.append(f"depth  {stage.path or '(root)'}: keeps {kept} of {stage.blocks} blocks")
    lines += [f"depth  {note}" for note in depth.notes]
    for group in channels.groups():
        producers = ", ".join(group.producers) or "(no producing layer)"
        state = (
            f"elastic (width gene {group_of_gene[group.index]})"
            if group.index in group_of_gene
            else group.reason()
        )
        lines.append(f"width  {group.channels:>5} channels of {producers}: {state}")
    for layer in channels.layers:
        module = modules.get(layer.path)
        if isinstance(module, nn.Conv2d):
            choices, why = _kernel_choices(module, options)
            state = f"elastic {'/'.join(map(str, choices))}" if layer.path in kernel_layers else why
            lines.append(
                f"kernel {layer.path} ({module.kernel_size[0]}x{module.kernel_size[1]}): {state}"
            )
        elif layer.kind == "other":
            lines.append(f"other  {layer.path} ({type(module).__name__}): kept as it is")
    return lines
