"""The reference implementation's state-dict key layout <-> ours. The only place that knows it.

Reference keys (e.g. ``blocks.2.conv.inverted_bottleneck.bn.bn.weight``) are first normalized
(``mobile_inverted_conv`` -> ``conv``, the dynamic wrappers ``conv.conv``/``bn.bn``/
``linear.linear`` -> ``conv``/``bn``/``linear``), so checkpoints of the elastic supernet and of
its static sub-networks are both accepted, then renamed by a table generated from our own keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor

from onceforall.errors import StateDictError

_BLOCK_PARTS = {
    "expand": "inverted_bottleneck",
    "depthwise": "depth_conv",
    "project": "point_linear",
    "se": "depth_conv.se.fc",
}


def normalize_reference_key(key: str) -> str:
    key = key.replace(".mobile_inverted_conv.", ".conv.")
    key = key.replace(".bn.bn.", ".bn.").replace(".linear.linear.", ".linear.")
    if key.endswith(".conv.conv.weight"):
        key = key[: -len(".conv.conv.weight")] + ".conv.weight"
    return key


def _reference_block_key(prefix: str, rest: str) -> str:
    """`expand.conv.weight` of a block -> `<prefix>.conv.inverted_bottleneck.conv.weight`."""
    part, _, tail = rest.partition(".")
    if part == "depthwise" and tail.startswith("conv.kernel_transforms."):
        return f"{prefix}.conv.depth_conv.conv.{tail.rsplit('.', 1)[1]}_matrix"
    return f"{prefix}.conv.{_BLOCK_PARTS[part]}.{tail}"


def reference_name(net: Any, key: str) -> str:
    """The normalized reference key of one of our MBv3-layout keys (OFAMobileNetV3 and
    OFA-ProxylessNAS; other families name theirs with `Supernet.reference_keys`)."""
    layout = net.space.layout
    first, _, rest = key.partition(".")
    if first == "stem":
        return f"first_conv.{rest}"
    if first == "first_block":
        return _reference_block_key("blocks.0", rest)
    if first == "stages":
        stage, position, tail = rest.split(".", 2)
        index = 1 + sum(layout.slots_per_stage[: int(stage)]) + int(position)
        return _reference_block_key(f"blocks.{index}", tail)
    if first == "head":
        part, _, tail = rest.partition(".")
        if part == "classifier":
            return f"classifier.linear.{tail}"
        both = (
            layout.head.pre_pool_channels is not None and layout.head.post_pool_channels is not None
        )
        if part == "pre_pool":
            return f"{'final_expand_layer' if both else 'feature_mix_layer'}.{tail}"
        if part == "post_pool":
            return f"feature_mix_layer.{tail}"
    raise StateDictError(f"no reference name for {key!r}")


def from_reference_state_dict(net: Any, state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Our state dict from a reference one; StateDictError listing every key that does not fit.

    ``num_batches_tracked`` is optional (older checkpoints lack it); everything else must match.
    """
    own = net.state_dict()
    by_reference = {name: key for key in own for name in net.reference_keys(key)}
    result: dict[str, Tensor] = {}
    unexpected = []
    for key, value in state_dict.items():
        ours = by_reference.get(normalize_reference_key(key))
        if ours is None:
            unexpected.append(key)
        else:
            result[ours] = value
    missing = [k for k in own if k not in result and not k.endswith("num_batches_tracked")]
    if unexpected or missing:
        parts = []
        for label, keys in (("unexpected", unexpected), ("missing", missing)):
            if keys:
                shown = ", ".join(keys[:5]) + (
                    f", ... ({len(keys)} in all)" if len(keys) > 5 else ""
                )
                parts.append(f"{label}: {shown}")
        raise StateDictError(
            f"the reference state dict does not fit {net.name or type(net).__name__}; "
            + "; ".join(parts)
        )
    for key in own:
        if key.endswith("num_batches_tracked") and key not in result:
            result[key] = own[key]
    return result
