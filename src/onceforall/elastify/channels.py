"""Channel groups of a traced network: which channel counts must stay equal, which may shrink.

Every tensor's channel dimension (dim 1) belongs to a group. A dense convolution or a linear layer
starts a new group (it *produces* those channels); batch norm, activations, pooling, dropout and a
depthwise convolution keep the group of their input; an add or a multiply of two tensors with the
same channel count ties their groups (one union-find class). What the analysis cannot follow
safely fixes the groups it touches: a concatenation, a grouped convolution, a reshape, an unknown
module or function, the network's input and output. A group may shrink ("elastic") when it is not
fixed, some layer produces it, and no residual add ties it: the hidden channels of residual blocks
and the channels of plain convolution chains. Each decision keeps its reason for the report.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from onceforall.elastify.trace import TracedNetwork

PASS_MODULES = (
    nn.ReLU,
    nn.ReLU6,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Sigmoid,
    nn.SiLU,
    nn.GELU,
    nn.Tanh,
    nn.LeakyReLU,
    nn.ELU,
    nn.Mish,
    nn.Identity,
    nn.Dropout,
    nn.Dropout2d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d,
    nn.AvgPool2d,
    nn.MaxPool2d,
)
PASS_FUNCTIONS = {
    F.relu,
    F.relu6,
    F.hardswish,
    F.hardsigmoid,
    F.sigmoid,
    F.silu,
    F.gelu,
    F.leaky_relu,
    F.elu,
    F.mish,
    F.dropout,
    F.adaptive_avg_pool2d,
    F.adaptive_max_pool2d,
    F.avg_pool2d,
    F.max_pool2d,
    torch.relu,
    torch.sigmoid,
    torch.tanh,
    torch.clamp,
}
PASS_METHODS = {"relu", "relu_", "sigmoid", "sigmoid_", "tanh", "clamp", "clamp_", "contiguous"}
BINARY_FUNCTIONS = {
    operator.add: "add",
    operator.iadd: "add",
    torch.add: "add",
    operator.sub: "add",
    torch.sub: "add",
    operator.mul: "mul",
    operator.imul: "mul",
    torch.mul: "mul",
}
BINARY_METHODS = {"add": "add", "add_": "add", "sub": "add", "mul": "mul", "mul_": "mul"}
ADD_FUNCTIONS = {operator.add, operator.iadd, torch.add}  # a residual shortcut is one of these
ADD_METHODS = {"add", "add_"}


@dataclass
class Group:
    """One channel group (a union-find class once merged)."""

    index: int
    channels: int
    fixed_reasons: list[str] = field(default_factory=list)
    residual: bool = False
    producers: list[str] = field(default_factory=list)  # dense convs / linears making it

    @property
    def elastic(self) -> bool:
        return not self.fixed_reasons and not self.residual and bool(self.producers)

    def reason(self) -> str:
        if self.fixed_reasons:
            return "kept: " + "; ".join(dict.fromkeys(self.fixed_reasons))
        if self.residual:
            return "kept: tied by a residual add"
        if not self.producers:
            return "kept: no layer produces it"
        return "elastic"


@dataclass(frozen=True)
class LayerChannels:
    """A conv / linear / batch norm and the groups of its input and output channels."""

    path: str
    kind: str  # "conv", "depthwise", "grouped", "linear", "batchnorm", "other"
    in_group: int | None
    out_group: int | None
    node: str  # the fx node that calls it


class ChannelAnalysis:
    """Union-find over channel groups, filled by walking the traced graph once."""

    def __init__(self, traced: TracedNetwork) -> None:
        self.traced = traced
        self.modules = dict(traced.graph.named_modules())
        self._parent: list[int] = []
        self._groups: list[Group] = []
        self.node_group: dict[str, int | None] = {}
        self.layers: list[LayerChannels] = []
        for node in traced.graph.graph.nodes:
            self._visit(node)

    # --- union-find ------------------------------------------------------------------------

    def new_group(self, channels: int, fixed: str | None = None) -> int:
        index = len(self._groups)
        self._parent.append(index)
        self._groups.append(Group(index, channels, [fixed] if fixed else []))
        return index

    def find(self, index: int) -> int:
        while self._parent[index] != index:
            self._parent[index] = self._parent[self._parent[index]]
            index = self._parent[index]
        return index

    def group(self, index: int) -> Group:
        return self._groups[self.find(index)]

    def union(self, first: int, second: int, residual: bool) -> int:
        a, b = self.find(first), self.find(second)
        if a != b:
            self._parent[b] = a
            merged, other = self._groups[a], self._groups[b]
            merged.fixed_reasons += other.fixed_reasons
            merged.residual |= other.residual
            merged.producers += other.producers
        self._groups[a].residual |= residual
        return a

    def fix(self, index: int | None, reason: str) -> None:
        if index is not None:
            self.group(index).fixed_reasons.append(reason)

    def groups(self) -> list[Group]:
        """The merged groups (one per class), in order of first appearance."""
        return [group for group in self._groups if self.find(group.index) == group.index]

    # --- the walk --------------------------------------------------------------------------

    def _channels(self, node: torch.fx.Node) -> int | None:
        shape = self.traced.shape(node)
        return shape[1] if shape is not None and len(shape) >= 2 else None

    def _tensor_inputs(self, node: torch.fx.Node) -> list[torch.fx.Node]:
        inputs: list[torch.fx.Node] = []
        for arg in node.all_input_nodes:
            if self.traced.shape(arg) is not None:
                inputs.append(arg)
        return inputs

    def _fresh(self, node: torch.fx.Node, fixed: str | None = None) -> int | None:
        channels = self._channels(node)
        return None if channels is None else self.new_group(channels, fixed)

    def _visit(self, node: torch.fx.Node) -> None:
        group: int | None
        if node.op == "placeholder":
            group = self._fresh(node, "the network's input")
        elif node.op == "output":
            for arg in node.all_input_nodes:
                self.fix(self.node_group.get(arg.name), "the network's output")
            return
        elif node.op == "get_attr":
            group = None
        elif node.op == "call_module":
            group = self._visit_module(node, self.modules[str(node.target)])
        else:
            group = self._visit_function(node)
        self.node_group[node.name] = group

    def _input_group(self, node: torch.fx.Node) -> int | None:
        inputs = self._tensor_inputs(node)
        return self.node_group.get(inputs[0].name) if inputs else None

    def _unknown(self, node: torch.fx.Node, what: str) -> int | None:
        for arg in self._tensor_inputs(node):
            self.fix(self.node_group.get(arg.name), f"used by {what}")
        return self._fresh(node, f"made by {what}")

    def _visit_module(self, node: torch.fx.Node, module: nn.Module) -> int | None:
        path = str(node.target)
        source = self._input_group(node)
        if isinstance(module, nn.Conv2d):
            return self._visit_conv(node, path, module, source)
        if isinstance(module, nn.Linear):
            shape = self.traced.shape(node.all_input_nodes[0])
            if shape is None or len(shape) != 2:
                self.fix(source, f"{path}: linear layer on a tensor that is not (batch, features)")
                source = None
            out = self._fresh(node)
            if out is not None:
                self.group(out).producers.append(path)
            self.layers.append(LayerChannels(path, "linear", source, out, node.name))
            return out
        if isinstance(module, nn.BatchNorm2d):
            plain = module.affine and module.track_running_stats
            if not plain:
                self.fix(source, f"{path}: batch norm without affine parameters or statistics")
            kind = "batchnorm" if plain else "other"
            self.layers.append(LayerChannels(path, kind, source, source, node.name))
            return source
        if isinstance(module, nn.Flatten):
            return self._visit_flatten(node, source, module.start_dim)
        if isinstance(module, PASS_MODULES):
            return source
        has_parameters = any(True for _ in module.parameters())
        if has_parameters:
            self.layers.append(LayerChannels(path, "other", source, None, node.name))
        return self._unknown(node, f"{path} ({type(module).__name__})")

    def _visit_conv(
        self, node: torch.fx.Node, path: str, conv: nn.Conv2d, source: int | None
    ) -> int | None:
        if conv.padding_mode != "zeros":
            return self._unknown(node, f"{path} (padding mode {conv.padding_mode})")
        if conv.groups == 1:
            out = self._fresh(node)
            if out is not None:
                self.group(out).producers.append(path)
            self.layers.append(LayerChannels(path, "conv", source, out, node.name))
            return out
        if conv.groups == conv.in_channels == conv.out_channels:
            self.layers.append(LayerChannels(path, "depthwise", source, source, node.name))
            return source
        self.fix(source, f"{path}: grouped convolution ({conv.groups} groups)")
        out = self._fresh(node, f"{path}: grouped convolution ({conv.groups} groups)")
        self.layers.append(LayerChannels(path, "grouped", source, out, node.name))
        return out

    def _visit_flatten(self, node: torch.fx.Node, source: int | None, start_dim: int) -> int | None:
        shape = self.traced.shape(node.all_input_nodes[0])
        if start_dim == 1 and shape is not None and all(size == 1 for size in shape[2:]):
            return source  # (N, C, 1, 1) -> (N, C): the channels stay the features
        return self._unknown(node, "a flatten over spatial positions")

    def _visit_function(self, node: torch.fx.Node) -> int | None:
        target = node.target
        name = target if isinstance(target, str) else getattr(target, "__name__", str(target))
        source = self._input_group(node)
        if node.op == "call_function" and target in PASS_FUNCTIONS:
            return source
        if node.op == "call_method" and target in PASS_METHODS:
            return source
        kind = (
            BINARY_FUNCTIONS.get(target)  # type: ignore[arg-type]
            if node.op == "call_function"
            else BINARY_METHODS.get(str(target))
        )
        if kind is not None:
            return self._visit_binary(node, kind)
        if node.op == "call_function" and target is torch.flatten:
            start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
            return self._visit_flatten(node, source, int(start))  # type: ignore[arg-type]
        if node.op == "call_method" and target == "flatten":
            start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
            return self._visit_flatten(node, source, int(start))  # type: ignore[arg-type]
        if node.op == "call_method" and target == "mean" and self._keeps_channels(node):
            return source
        if node.op == "call_method" and target in ("size", "dim"):
            return None
        if node.op == "call_function" and target is getattr and len(node.args) > 1:
            return None  # x.shape and friends: not a tensor
        if node.op == "call_function" and target is torch.cat:
            return self._unknown(node, "a concatenation")
        return self._unknown(node, f"{name}")

    def _keeps_channels(self, node: torch.fx.Node) -> bool:
        dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
        dims = (dims,) if isinstance(dims, int) else tuple(dims or ())  # type: ignore[arg-type]
        return bool(dims) and all(d in (2, 3, -1, -2) for d in dims)

    def _visit_binary(self, node: torch.fx.Node, kind: str) -> int | None:
        inputs = self._tensor_inputs(node)
        if len(inputs) < 2:
            return self._input_group(node)  # tensor with a number
        first, second = inputs[0], inputs[1]
        a, b = self.node_group.get(first.name), self.node_group.get(second.name)
        ca, cb = self._channels(first), self._channels(second)
        if ca is not None and ca == cb:
            if a is None or b is None:
                self.fix(a if a is not None else b, f"{kind} with an untracked tensor")
                return a if a is not None else b
            return self.union(a, b, residual=kind == "add")
        if cb == 1:
            return a  # broadcast over channels (e.g. a spatial attention map)
        if ca == 1:
            return b
        return self._unknown(node, f"{kind} of tensors with different channel counts")
