from __future__ import annotations

import torch

from onceforall.arch.mbv3 import MBv3Block
from onceforall.models.registry import create_supernet
from onceforall.nn.blocks import ElasticMBConv
from onceforall.nn.reorder import importance_order, reorder_block, reorder_channels


def test_importance_order_within_segments() -> None:
    importance = torch.tensor([1.0, 5.0, 3.0, 9.0, 0.0, 7.0])
    assert importance_order(importance).tolist() == [3, 5, 1, 2, 0, 4]
    assert importance_order(importance, [3]).tolist() == [1, 2, 0, 3, 5, 4]


def test_reordering_preserves_the_full_network(randomize) -> None:  # type: ignore[no-untyped-def]
    net = randomize(create_supernet("test_mbv3_tiny")).eval()
    x = torch.randn(3, 3, 24, 24)
    net.set_arch(net.space.max())
    before = net(x)
    reorder_channels(net.elastic_blocks())
    torch.testing.assert_close(net(x), before, atol=1e-5, rtol=1e-5)


def test_smaller_widths_keep_the_most_important_channels(randomize) -> None:  # type: ignore[no-untyped-def]
    block = randomize(ElasticMBConv(8, 8, (3, 5, 7), (3, 4, 6), 1, "relu", True))
    reorder_block(block)
    importance = block.project.conv.weight.abs().sum(dim=(0, 2, 3))
    assert torch.all(importance[:-1] >= importance[1:])
    se = block.se
    assert se is not None
    se_importance = se.expand.weight.abs().sum(dim=(0, 2, 3))
    assert torch.all(se_importance[:-1] >= se_importance[1:])


def test_protected_width_keeps_its_channel_set(randomize) -> None:  # type: ignore[no-untyped-def]
    block = randomize(ElasticMBConv(8, 8, (3,), (3, 4, 6), 1, "relu", False)).eval()
    width4 = block.mid_channels[4]
    x = torch.randn(2, 8, 5, 5)
    block.set_active(MBv3Block(3, 4))
    before = block(x)
    order = reorder_block(block, keep_expand_ratios=[4])
    assert set(order[:width4].tolist()) == set(range(width4))
    torch.testing.assert_close(block(x), before, atol=1e-5, rtol=1e-5)
