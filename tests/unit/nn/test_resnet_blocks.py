from __future__ import annotations

import pytest
import torch

from onceforall.models.registry import create_supernet
from onceforall.nn.elastic_linear import ElasticLinear
from onceforall.nn.resnet_blocks import ElasticBottleneck, ElasticResNetStem
from onceforall.nn.resnet_reorder import reorder_bottleneck


def _block(stride: int = 2, projection: bool = True) -> ElasticBottleneck:
    """Output widths 16/24/32; with projection any input up to 16, else the output's."""
    max_in = 16 if projection else 32
    return ElasticBottleneck(max_in, (16, 24, 32), (0.25, 0.5, 1.0), stride, projection, divisor=4)


def test_bottleneck_export_equals_forward(randomize) -> None:  # type: ignore[no-untyped-def]
    for stride, projection, in_channels in ((2, True, 12), (1, True, 16), (1, False, 24)):
        # without projection, the input is the previous block of the stage: the same width
        block = randomize(_block(stride, projection)).eval()
        block.set_active(24, 0.5)
        x = torch.randn(2, in_channels, 7, 7)  # odd size: the ceil-mode pool pads the shortcut
        with torch.no_grad():
            torch.testing.assert_close(block.export(in_channels).eval()(x), block(x))
        assert block.export(in_channels).conv1.conv.weight.shape == (12, in_channels, 1, 1)


def test_bottleneck_inactive_weights_get_exactly_zero_gradient() -> None:
    block = _block()
    block.set_active(24, 0.25)  # inner width 8 of 32, output 24 of 32
    block(torch.randn(2, 12, 6, 6)).square().sum().backward()
    grads = {name: p.grad for name, p in block.named_parameters()}
    mid = block.mid_channels(24, 0.25)
    for name, used in (
        ("conv1.conv.weight", (mid, 12)),
        ("conv2.conv.weight", (mid, mid)),
        ("conv3.conv.weight", (24, mid)),
        ("downsample.conv.weight", (24, 12)),
    ):
        grad = grads[name]
        assert grad is not None
        outside = grad.clone()
        outside[: used[0], : used[1]] = 0
        assert grad[: used[0], : used[1]].abs().sum() > 0 and (outside == 0).all(), name
    for name in ("conv1.bn.weight", "conv3.bn.bias", "downsample.bn.weight"):
        grad = grads[name]
        assert grad is not None
        width = mid if name.startswith("conv1") else 24
        assert (grad[width:] == 0).all() and grad[:width].abs().sum() > 0, name


def test_bottleneck_rejects_unknown_settings() -> None:
    with pytest.raises(ValueError, match="is not a setting"):
        _block().set_active(20, 0.5)


def test_stem_skips_its_residual_conv(randomize) -> None:  # type: ignore[no-untyped-def]
    stem = randomize(ElasticResNetStem(3, 8, 16, 2)).eval()
    x = torch.randn(2, 3, 9, 9)
    stem.set_active(4, 12, 2)
    with torch.no_grad():
        exported = stem.export().eval()
        assert exported.residual is None and exported.last.conv.in_channels == 4
        torch.testing.assert_close(exported(x), stem(x))
    stem(x).sum().backward()
    assert stem.residual.conv.weight.grad is None
    first = stem.first.conv.weight.grad
    assert first is not None and (first[4:] == 0).all()
    with pytest.raises(ValueError, match="depth 2 or 3"):
        stem.set_active(4, 12, 1)


def test_elastic_linear_reads_the_leading_features() -> None:
    linear = ElasticLinear(8, 3)
    x = torch.randn(4, 5)
    torch.testing.assert_close(linear(x), linear.export(5)(x))


def test_reordering_preserves_the_full_network(randomize) -> None:  # type: ignore[no-untyped-def]
    net = randomize(create_supernet("test_resnet_tiny")).eval()
    x = torch.randn(3, 3, 24, 24)
    net.set_arch(net.space.max())
    before = net(x)
    net.reorder_channels()
    torch.testing.assert_close(net(x), before, atol=1e-5, rtol=1e-5)
    block = next(net.elastic_blocks())
    importance = block.conv3.conv.weight.abs().sum(dim=(0, 2, 3))
    assert torch.all(importance[:-1] >= importance[1:])


def test_protected_ratio_keeps_its_channel_set(randomize) -> None:  # type: ignore[no-untyped-def]
    block = randomize(_block(1, False)).eval()
    x = torch.randn(2, 32, 5, 5)
    block.set_active(32, 0.5)
    before = block(x)
    second, first = reorder_bottleneck(block, keep_expand_ratios=[0.5])
    for width in (block.mid_channels(w, 0.5) for w in block.out_choices):  # 8, 12, 16
        assert set(second[:width].tolist()) == set(range(width))
        assert set(first[:width].tolist()) == set(range(width))
    torch.testing.assert_close(block(x), before, atol=1e-5, rtol=1e-5)
