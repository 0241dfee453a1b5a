from __future__ import annotations

import torch
from torch import nn

from onceforall.arch.mbv3 import MBv3Block
from onceforall.nn.blocks import ElasticMBConv
from onceforall.nn.elastic import ElasticBatchNorm2d, ElasticConv2d


def test_batch_norm_updates_only_the_active_slice() -> None:
    bn = ElasticBatchNorm2d(8, momentum=0.5).train()
    reference = nn.BatchNorm2d(5, momentum=0.5).train()
    x = torch.randn(4, 5, 3, 3)
    torch.testing.assert_close(bn(x), reference(x))
    torch.testing.assert_close(bn.running_mean[:5], reference.running_mean)
    torch.testing.assert_close(bn.running_var[:5], reference.running_var)
    assert (bn.running_mean[5:] == 0).all() and (bn.running_var[5:] == 1).all()


def test_batch_norm_cumulative_average() -> None:
    bn = ElasticBatchNorm2d(4, momentum=None).train()
    batches = [torch.randn(8, 3, 2, 2) for _ in range(3)]
    for batch in batches:
        bn(batch)
    means = torch.stack([b.mean((0, 2, 3)) for b in batches]).mean(0)
    torch.testing.assert_close(bn.running_mean[:3], means)


def test_conv_export_equals_forward() -> None:
    conv = ElasticConv2d(6, 8, kernel_size=3, stride=2, bias=True)
    x = torch.randn(2, 4, 9, 9)
    torch.testing.assert_close(conv.export(4, 5)(x), conv(x, 5))


def test_inactive_weights_get_exactly_zero_gradient() -> None:
    block = ElasticMBConv(8, 8, (3, 5, 7), (3, 4, 6), 1, "hswish", True)
    block.set_active(MBv3Block(5, 3))
    block(torch.randn(2, 8, 6, 6)).square().sum().backward()
    mid = block.mid_channels[3]
    grads = {name: p.grad for name, p in block.named_parameters()}
    for name in (
        "expand.conv.weight",
        "depthwise.conv.weight",
        "expand.bn.weight",
        "depthwise.bn.bias",
    ):
        grad = grads[name]
        assert grad is not None
        assert (grad[mid:] == 0).all(), name
        assert grad[:mid].abs().sum() > 0, name
    assert (grads["project.conv.weight"][:, mid:] == 0).all()
    assert (grads["se.reduce.weight"][:, mid:] == 0).all()
    assert (grads["se.expand.weight"][mid:] == 0).all()
    dw = grads["depthwise.conv.weight"]
    assert dw is not None
    # kernel 5: the outer ring of the 7x7 kernel is unused
    assert (dw[:, :, 0, :] == 0).all() and (dw[:, :, :, 6] == 0).all()
    transforms = block.depthwise.conv.kernel_transforms
    assert transforms is not None
    assert transforms["7to5"].grad is not None and transforms["5to3"].grad is None
