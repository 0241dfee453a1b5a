"""OFA-ProxylessNAS rows: widths, strides and settings of the reference's w1.3 supernet."""

from __future__ import annotations

import numpy as np

from onceforall.arch.mbv3 import MBv3Space
from onceforall.arch.proxyless_layout import proxyless_layout
from onceforall.models.registry import supernet_space


def test_w13_layout_is_the_reference_one() -> None:
    layout = proxyless_layout(1.3, 1000)
    assert layout.stem.out_channels == 40 and layout.first_block.out_channels == 24
    assert [s.out_channels for s in layout.stages] == [32, 56, 104, 128, 248, 416]
    assert [s.stride for s in layout.stages] == [2, 2, 2, 1, 2, 1]
    assert layout.slots_per_stage == (4, 4, 4, 4, 4, 1)
    assert layout.head.pre_pool_channels == 1664 and layout.head.post_pool_channels is None
    assert layout.bn.eps == 1e-3
    assert {s.activation for s in layout.stages} == {"relu6"}
    assert not any(s.use_se for s in layout.stages)
    small = proxyless_layout(1.3, 10, small_input=True)
    assert [s.stride for s in small.stages] == [1, 2, 2, 1, 2, 1]


def test_space_and_reference_dicts() -> None:
    space = supernet_space("ofa_proxyless_w13")
    assert isinstance(space, MBv3Space)
    assert space.stage_depths(5) == (1,) and space.max().depths == (4, 4, 4, 4, 4, 1)
    assert space.size() == (9**2 + 9**3 + 9**4) ** 5 * 9
    rng = np.random.default_rng(0)
    for _ in range(50):
        arch = space.sample(rng)
        ref = space.to_reference_dict(arch)
        assert len(ref["ks"]) == len(ref["e"]) == 21 and ref["d"][-1] == 1
        assert space.from_reference_dict(ref) == arch
        # the reference also writes 'd' for the five elastic stages only
        assert space.from_reference_dict({**ref, "d": ref["d"][:5]}) == arch
