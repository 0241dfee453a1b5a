"""Latency operators: keys, deduplication, and agreement with what exported networks run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from onceforall.arch.mbv3 import MBv3Space
from onceforall.errors import LatencyTableError
from onceforall.families.mbv3_operator_modules import operator_module
from onceforall.families.mbv3_operators import (
    BlockOp,
    HeadOp,
    StemOp,
    mbv3_operator_grid,
)
from onceforall.families.operators import operator_key
from onceforall.families.registry import operator_from_key
from onceforall.latency.build import space_operators
from onceforall.models.registry import create_supernet, list_supernets, supernet_space

MBV3_NAMES = [n for n in list_supernets() if isinstance(supernet_space(n), MBv3Space)]


@pytest.mark.parametrize("name", MBV3_NAMES)
def test_keys_round_trip_and_are_distinct(name: str) -> None:
    space = supernet_space(name)
    assert isinstance(space, MBv3Space)
    operators = space_operators(space.restrict(resolutions=space.resolutions[:3]))
    keys = [operator_key(op) for op in operators]
    assert len(set(keys)) == len(keys) == len(set(operators))
    for op, key in zip(operators, keys, strict=True):
        assert operator_from_key(key) == op


def test_key_format_is_readable() -> None:
    op = BlockOp(14, 40, 160, 40, 5, 1, True, True, True, "relu")
    assert (
        operator_key(op) == "mbconv-in:14x14x40-mid:160-out:40-k:5-s:1-expand:1-se:1-res:1-act:relu"
    )
    assert (
        operator_key(StemOp(32, 3, 16, 3, 2, "hswish"))
        == "stem-in:32x32x3-out:16-k:3-s:2-act:hswish"
    )
    head = HeadOp(2, 160, 960, 1280, 10, "hswish")
    assert operator_key(head) == "head-in:2x2x160-pre:960-post:1280-classes:10-act:hswish"


@pytest.mark.parametrize(
    "key",
    [
        "conv-in:3x3x3",
        "stem-in:32x32x3-out:16-k:3-s:2",
        "stem-in:32x31x3-out:16-k:3-s:2-act:hswish",
        "stem-in:32x32x3-out:sixteen-k:3-s:2-act:hswish",
        "mbconv-in:14x14x40-mid:160-out:40-k:5-s:1-expand:2-se:1-res:1-act:relu",
    ],
)
def test_malformed_keys_are_rejected(key: str) -> None:
    with pytest.raises(LatencyTableError):
        operator_from_key(key)


def test_slots_of_a_stage_share_operators() -> None:
    """Per stage: the first slot (stride, new width) and one shape for all later slots."""
    space = supernet_space("ofa_mbv3_w10")
    assert isinstance(space, MBv3Space)
    grid = mbv3_operator_grid(space.layout, 224, space.kernel_sizes, space.expand_ratios)
    choices = len(space.kernel_sizes) * len(space.expand_ratios)
    per_stage = [choices * min(stage.max_depth, 2) for stage in space.layout.stages]
    assert len(grid.operators()) == len(grid.fixed) + sum(per_stage)


@pytest.mark.parametrize("name", ["test_mbv3_tiny", "ofa_mbv3_w10_small_input"])
def test_operator_modules_match_the_exported_network(name: str) -> None:
    """Each slot's operator builds the same layers, with the same shapes, as the exported block."""
    net = create_supernet(name)
    space = net.space
    rng = np.random.default_rng(0)
    arch = space.sample(rng)
    grid = mbv3_operator_grid(
        space.layout, arch.resolution, space.kernel_sizes, space.expand_ratios
    )
    static = net.static(arch)
    offsets = np.cumsum([0, *space.layout.slots_per_stage])
    for s, stage in enumerate(arch.stages):
        for b, block in enumerate(stage):
            op = grid.slots[offsets[s] + b][space.kernel_sizes.index(block.kernel_size)][
                space.expand_ratios.index(block.expand_ratio)
            ]
            module, _ = operator_module(op, space.layout)
            expected = {k: v.shape for k, v in static.stages[s][b].state_dict().items()}
            assert {k: v.shape for k, v in module.state_dict().items()} == expected
    for op, part in ((grid.stem, static.stem), (grid.first_block, static.first_block)):
        module, _ = operator_module(op, space.layout)
        assert {k: v.shape for k, v in module.state_dict().items()} == {
            k: v.shape for k, v in part.state_dict().items()
        }
    head, shape = operator_module(grid.head, space.layout)
    assert head(torch.zeros(1, *shape)).shape == (1, space.layout.head.num_classes)


def test_operator_input_shapes_chain_through_a_network() -> None:
    space = supernet_space("test_mbv3_tiny")
    assert isinstance(space, MBv3Space)
    grid = mbv3_operator_grid(space.layout, 24, space.kernel_sizes, space.expand_ratios)
    x = torch.zeros(1, 3, 24, 24)
    with torch.no_grad():
        for op in (grid.stem, grid.first_block, *(slot[0][0] for slot in grid.slots)):
            module, shape = operator_module(op, space.layout)
            assert tuple(x.shape[1:]) == shape
            x = module.eval()(x)
        head, shape = operator_module(grid.head, space.layout)
        assert tuple(x.shape[1:]) == shape
        assert head.eval()(x).shape == (1, space.layout.head.num_classes)
