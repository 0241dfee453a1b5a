"""Once-for-All for the user's own network: `elastify(model, example_input)` -> a Supernet.

The network is traced with torch.fx (never modified: a deep copy is made elastic) and analysed:

- width: channel groups that no residual add, concatenation, grouped convolution or the
  network's input/output pins (elastify/channels.py) keep `width_ratios` of their channels,
  rounded to `channel_divisor`; the most important channels come first (`reorder_channels`);
- kernel: convolutions with odd "same"-padded kernels >= 5, and depthwise ones of any odd size,
  shrink to the smaller odd sizes in `kernel_sizes`, through learned kernel-transformation
  matrices (identity at first), as the paper;
- depth: in each `nn.Sequential`, trailing residual blocks with an identity shortcut may be
  dropped, at most `max_dropped_blocks` of them (elastify/depth.py);
- resolution: `resolutions` (default: the example input's).

At `net.space.max()` the supernet computes what the network computed. `net.report` says layer by
layer what became elastic and why the rest did not (`report=True` also prints it).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence

from torch import Tensor, nn

from onceforall.elastify.channels import ChannelAnalysis
from onceforall.elastify.depth import analyse_depth
from onceforall.elastify.plan import ElastifyOptions, plan_elastify
from onceforall.elastify.supernet import ElastifiedSupernet
from onceforall.elastify.trace import trace_network
from onceforall.errors import ElastifyError
from onceforall.nn.elastic import KernelTransform

__all__ = ["ElastifiedSupernet", "ElastifyOptions", "elastify", "elastify_network"]


def elastify(
    model: nn.Module,
    example_input: Tensor,
    *,
    width_ratios: Sequence[float] = (0.5, 0.75, 1.0),
    kernel_sizes: Sequence[int] = (3, 5, 7),
    max_dropped_blocks: int = 2,
    resolutions: Sequence[int] = (),
    channel_divisor: int = 8,
    kernel_transform: KernelTransform = "matrix",
    num_classes: int | None = None,
    report: bool = False,
) -> ElastifiedSupernet:
    """`model` as a weight-sharing supernet (module docstring); `model` itself is not changed."""
    if not width_ratios or any(not 0 < r <= 1 for r in width_ratios):
        raise ElastifyError(f"width_ratios must lie in (0, 1], got {tuple(width_ratios)}")
    if max_dropped_blocks < 0 or channel_divisor < 1:
        raise ElastifyError("max_dropped_blocks must be >= 0 and channel_divisor >= 1")
    options = ElastifyOptions(
        width_ratios=tuple(float(r) for r in width_ratios),
        kernel_sizes=tuple(int(k) for k in kernel_sizes),
        max_dropped_blocks=max_dropped_blocks,
        channel_divisor=channel_divisor,
        resolutions=tuple(int(r) for r in resolutions) or (int(example_input.shape[-1]),),
    )
    net = elastify_network(model, example_input, options, kernel_transform, num_classes)
    if report:
        print("\n".join(net.plan.report))
    return net


def elastify_network(
    model: nn.Module,
    example_input: Tensor,
    options: ElastifyOptions,
    kernel_transform: KernelTransform = "matrix",
    num_classes: int | None = None,
    reference: str | None = None,
) -> ElastifiedSupernet:
    """`elastify` with its options as one value (a copy of `model` is made elastic);
    `reference`: the user model reference it is built from (elastify/user_model.py)."""
    if not options.resolutions:
        options = dataclasses.replace(options, resolutions=(int(example_input.shape[-1]),))
    model = copy.deepcopy(model)
    traced = trace_network(model, example_input, options.resolutions)
    channels = ChannelAnalysis(traced)
    depth = analyse_depth(traced, model, options.max_dropped_blocks)
    plan = plan_elastify(model, traced, channels, depth, options, num_classes, reference)
    return ElastifiedSupernet(model, plan, kernel_transform)
