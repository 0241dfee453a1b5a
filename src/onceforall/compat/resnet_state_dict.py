"""The reference implementation's OFA-ResNet state-dict names of our keys (normalized as in
compat/state_dict.py: ``conv.conv`` -> ``conv``, ``bn.bn`` -> ``bn``, ``linear.linear`` ->
``linear``).

Reference layout: ``input_stem.0`` (first conv), ``input_stem.1.conv`` (the residual conv, inside
a residual block), ``input_stem.2`` (last conv), ``blocks.<i>.conv1/conv2/conv3/downsample``
(block slots numbered across stages), ``classifier.linear``.
"""

from __future__ import annotations

from onceforall.arch.resnet_layout import ResNetLayout
from onceforall.errors import StateDictError

_STEM = {"first": "input_stem.0", "residual": "input_stem.1.conv", "last": "input_stem.2"}


def resnet_reference_names(layout: ResNetLayout, key: str) -> tuple[str, ...]:
    first, _, rest = key.partition(".")
    if first == "stem":
        part, _, tail = rest.partition(".")
        if part in _STEM:
            name = f"{_STEM[part]}.{tail}"
            if name == "input_stem.1.conv.conv.weight":
                # the supernet nests one more `conv` here than a static sub-network, whose key
                # `input_stem.1.conv.conv.weight` normalizes to `input_stem.1.conv.weight`
                return name, "input_stem.1.conv.weight"
            return (name,)
    if first == "stages":
        stage, position, tail = rest.split(".", 2)
        index = sum(layout.slots_per_stage[: int(stage)]) + int(position)
        return (f"blocks.{index}.{tail}",)
    if first == "head" and rest.startswith("classifier."):
        return (f"classifier.linear.{rest.partition('.')[2]}",)
    raise StateDictError(f"no reference name for {key!r}")
