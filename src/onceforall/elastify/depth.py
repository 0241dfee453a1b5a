"""Elastic depth of a traced network: runs of residual blocks in an `nn.Sequential` that may be
dropped from the end, keeping the first D blocks as the paper does.

A child of a Sequential is a droppable block when its whole computation is `x + f(x)` (optionally
followed by a ReLU, which leaves a non-negative input unchanged) with `x` the block's own input:
dropping it then passes `x` on with the same shape at every resolution. The first child always
stays, so a stage keeps the block that changes its resolution or width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from onceforall.elastify.channels import ADD_FUNCTIONS, ADD_METHODS
from onceforall.elastify.trace import TracedNetwork

TRANSPARENT_ACTIVATIONS = (nn.ReLU, nn.ReLU6)
TRANSPARENT_FUNCTIONS = {F.relu, F.relu6, torch.relu}


@dataclass(frozen=True)
class ElasticStage:
    """An `nn.Sequential` whose trailing blocks may be dropped."""

    path: str
    children: tuple[str, ...]  # paths of its children, in order
    min_depth: int  # fewest children kept (>= 1)

    @property
    def blocks(self) -> int:
        return len(self.children)

    @property
    def depths(self) -> tuple[int, ...]:
        return tuple(range(self.min_depth, self.blocks + 1))


@dataclass(frozen=True)
class DepthAnalysis:
    stages: tuple[ElasticStage, ...]
    notes: tuple[str, ...]  # why a Sequential is not elastic in depth


def _module_paths(node: torch.fx.Node) -> set[str]:
    stack = node.meta.get("nn_module_stack") or {}
    return {str(value[0]) for value in stack.values()}


def _is_add(node: torch.fx.Node) -> bool:
    if node.op == "call_function":
        return node.target in ADD_FUNCTIONS
    return node.op == "call_method" and node.target in ADD_METHODS


def _strip_activation(node: torch.fx.Node, modules: dict[str, nn.Module]) -> torch.fx.Node:
    if node.op == "call_module" and isinstance(modules[str(node.target)], TRANSPARENT_ACTIVATIONS):
        return node.all_input_nodes[0]
    if node.op == "call_function" and node.target in TRANSPARENT_FUNCTIONS:
        return node.all_input_nodes[0]
    if node.op == "call_method" and node.target in ("relu", "relu_"):
        return node.all_input_nodes[0]
    return node


def _through_identity(node: torch.fx.Node, modules: dict[str, nn.Module]) -> torch.fx.Node:
    """The node an `nn.Identity` (e.g. a shortcut that is one) passes on, else `node`."""
    while node.op == "call_module" and isinstance(modules[str(node.target)], nn.Identity):
        node = node.all_input_nodes[0]
    return node


def _droppable(traced: TracedNetwork, path: str, modules: dict[str, nn.Module]) -> str | None:
    """None when the child at `path` is a droppable residual block, else why not."""
    nodes = [n for n in traced.graph.graph.nodes if path in _module_paths(n)]
    if not nodes:
        return "not called"
    inside = set(nodes)
    inputs = {
        arg
        for n in nodes
        for arg in n.all_input_nodes
        if arg not in inside and arg.op != "get_attr" and traced.shape(arg) is not None
    }
    outputs = [n for n in nodes if any(user not in inside for user in n.users)]
    if len(inputs) != 1 or len(outputs) != 1:
        return "not a single-input, single-output block"
    (source,) = inputs
    result = _strip_activation(outputs[0], modules)
    operands = [_through_identity(node, modules) for node in result.all_input_nodes]
    if not _is_add(result) or source not in operands:
        return "not a residual block with an identity shortcut"
    for resolution in traced.shapes:
        if traced.shape(source, resolution) != traced.shape(outputs[0], resolution):
            return "its output shape differs from its input shape"
    return None


def analyse_depth(traced: TracedNetwork, model: nn.Module, max_dropped: int) -> DepthAnalysis:
    """Every Sequential whose trailing children are droppable residual blocks (module docstring);
    at most `max_dropped` blocks of one Sequential are dropped."""
    modules = dict(traced.graph.named_modules())
    stages: list[ElasticStage] = []
    notes: list[str] = []
    for path, module in model.named_modules():
        if not isinstance(module, nn.Sequential) or len(module) < 2:
            continue
        children = tuple(f"{path}.{name}" if path else name for name, _ in module.named_children())
        reasons = {
            position: _droppable(traced, children[position], modules)
            for position in range(1, len(module))
        }
        first = len(module)
        while first > 1 and reasons[first - 1] is None:
            first -= 1
        if first == len(module) or max_dropped < 1:
            why = (
                reasons[len(module) - 1]
                if max_dropped >= 1
                else "depth not elastic (max_dropped 0)"
            )
            notes.append(f"{path or '(root)'}: depth kept: its last block is {why}")
            continue
        min_depth = max(first, len(module) - max_dropped)
        outer = next((s for s in stages if _inside_droppable(path, s)), None)
        if outer is not None:
            notes.append(
                f"{path}: depth kept: inside a droppable block of {outer.path or '(root)'}"
            )
            continue
        stages.append(ElasticStage(path, children, min_depth))
    return DepthAnalysis(tuple(stages), tuple(notes))


def _inside_droppable(path: str, stage: ElasticStage) -> bool:
    return any(
        path == child or path.startswith(child + ".") for child in stage.children[stage.min_depth :]
    )
