"""Tracing a user's network with torch.fx, with shapes, and an error that names what failed."""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.fx.passes.shape_prop import ShapeProp

from onceforall.errors import ElastifyError


@dataclass(frozen=True)
class TracedNetwork:
    """The network's graph, with the output shape of every node at each input resolution."""

    graph: torch.fx.GraphModule
    shapes: dict[int, dict[str, tuple[int, ...]]]  # resolution -> node name -> shape
    input_shape: tuple[int, ...]  # of the example input (batch first)

    def shape(self, node: torch.fx.Node, resolution: int | None = None) -> tuple[int, ...] | None:
        table = self.shapes[max(self.shapes) if resolution is None else resolution]
        return table.get(node.name)


def trace_network(
    model: nn.Module, example_input: Tensor, resolutions: Sequence[int]
) -> TracedNetwork:
    """Symbolically trace `model` and propagate shapes at every resolution (square inputs)."""
    if example_input.dim() != 4:
        shape = tuple(example_input.shape)
        raise ElastifyError(f"example input must be one image batch (N, C, H, W), got {shape}")
    try:
        graph = torch.fx.symbolic_trace(model)
    except Exception as error:  # fx raises many kinds; the user needs the first line and where
        raise ElastifyError(
            f"cannot trace the network with torch.fx: {_first_line(error)}{_user_frame(error)}"
        ) from None
    shapes: dict[int, dict[str, tuple[int, ...]]] = {}
    was_training = model.training
    model.eval()
    try:
        for resolution in sorted(set(resolutions)):
            batch = example_input[:1]
            images = torch.zeros(*batch.shape[:2], resolution, resolution, dtype=batch.dtype)
            try:
                with torch.no_grad():
                    ShapeProp(graph).propagate(images)
            except Exception as error:
                raise ElastifyError(
                    f"the network does not run on {resolution} px inputs: {_first_line(error)}"
                ) from None
            shapes[resolution] = {
                node.name: tuple(node.meta["tensor_meta"].shape)
                for node in graph.graph.nodes
                if isinstance(
                    node.meta.get("tensor_meta"), torch.fx.passes.shape_prop.TensorMetadata
                )
            }
    finally:
        model.train(was_training)
    return TracedNetwork(graph, shapes, tuple(example_input.shape))


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _user_frame(error: BaseException) -> str:
    """' (at file:line in function)' for the innermost frame outside torch, if any."""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if "/torch/" not in frame.filename and "/onceforall/" not in frame.filename
    ]
    if not frames:
        return ""
    frame = frames[-1]
    return f" (at {frame.filename}:{frame.lineno} in {frame.name}: {frame.line})"
