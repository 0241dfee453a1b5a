from __future__ import annotations

import torch
from torch import nn

from onceforall.models.registry import create_supernet
from onceforall.nn.bn import batch_norms, recalibrate_bn, to_stock
from onceforall.nn.elastic import ElasticBatchNorm2d


def test_recalibration_is_the_mean_of_batch_statistics() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4, momentum=0.3)).eval()
    batches = [torch.randn(10, 3, 5, 5) for _ in range(4)]
    seen = recalibrate_bn(model, batches)
    assert seen == 40 and not model.training and model[1].momentum == 0.3
    features = [model[0](b) for b in batches]
    means = torch.stack([f.mean((0, 2, 3)) for f in features]).mean(0)
    variances = torch.stack([f.var((0, 2, 3), unbiased=True) for f in features]).mean(0)
    torch.testing.assert_close(model[1].running_mean, means.detach())
    torch.testing.assert_close(model[1].running_var, variances.detach())


def test_recalibration_of_a_static_copy_leaves_the_supernet_alone() -> None:
    net = create_supernet("test_mbv3_tiny").eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    arch = net.space.min()
    static = net.static(arch)
    recalibrate_bn(static, [torch.randn(8, 3, arch.resolution, arch.resolution)])
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert not torch.equal(
        static.state_dict()["stem.bn.running_mean"], before["stem.bn.running_mean"]
    )


def test_to_stock_replaces_elastic_batch_norms() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 1), ElasticBatchNorm2d(4))
    model[1].running_mean.fill_(0.5)
    stock = to_stock(model)
    assert all(type(bn) is nn.BatchNorm2d for bn in batch_norms(stock))
    assert torch.equal(stock[1].running_mean, model[1].running_mean)
    x = torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(stock.eval()(x), model.eval()(x))
