from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from onceforall.models.registry import create_supernet
from onceforall.nn.bn import batch_norms, recalibrate_bn
from onceforall.nn.inference import (
    CPU_PIXELS_PER_FORWARD,
    PointwiseConv2d,
    activations_in_place,
    fold_batch_norms,
    forward_chunk_size,
    pointwise_as_matrix_products,
    predicted_classes,
)


def test_chunk_size_follows_the_pixel_budget() -> None:
    assert forward_chunk_size(torch.zeros(500, 3, 32, 32)) == CPU_PIXELS_PER_FORWARD // 1024 == 96
    assert forward_chunk_size(torch.zeros(500, 3, 24, 24)) == 170
    assert forward_chunk_size(torch.zeros(50, 3, 32, 32)) == 50  # never more than the batch
    assert forward_chunk_size(torch.zeros(8, 3, 224, 224)) == 1  # never less than one image
    assert forward_chunk_size(torch.zeros(500, 3, 32, 32, device="meta")) == 500  # off CPU


def test_chunked_predictions_equal_whole_batch_ones() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.LazyLinear(5)
    )
    images = torch.randn(250, 3, 32, 32)
    model(images[:2])
    model.eval()
    whole = model(images).argmax(dim=1)
    assert forward_chunk_size(images) < len(images)
    assert torch.equal(predicted_classes(model, images), whole)


def _conv_bn_act() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(3, 6, 3, padding=1, bias=False), nn.BatchNorm2d(6), nn.ReLU())


def test_in_place_only_after_a_convolution_or_batch_norm() -> None:
    first, after_bn, after_conv = nn.ReLU(), nn.Hardswish(), nn.ReLU6()
    model = nn.Sequential(
        first,
        nn.Conv2d(3, 3, 1),
        after_conv,
        nn.BatchNorm2d(3),
        after_bn,
        nn.Sequential(nn.Identity(), nn.ReLU()),
    )
    activations_in_place(model)
    assert after_bn.inplace and after_conv.inplace
    assert not first.inplace and not model[5][1].inplace


def test_in_place_activations_change_no_output_nor_statistics() -> None:
    torch.manual_seed(0)
    net = create_supernet("test_mbv3_tiny")
    plain, fast = net.static(net.space.max()), activations_in_place(net.static(net.space.max()))
    assert any(getattr(m, "inplace", False) for m in fast.modules())
    batches = [torch.randn(16, 3, 24, 24) for _ in range(2)]
    recalibrate_bn(plain, batches)
    recalibrate_bn(fast, batches)
    for a, b in zip(batch_norms(plain), batch_norms(fast), strict=True):
        assert torch.equal(a.running_mean, b.running_mean)
        assert torch.equal(a.running_var, b.running_var)
    with torch.no_grad():
        assert torch.equal(plain.eval()(batches[0]), fast.eval()(batches[0]))


def test_fold_removes_eval_batch_norms_after_convolutions() -> None:
    torch.manual_seed(0)
    model = _conv_bn_act()
    model[1].running_mean.uniform_(-1, 1)
    model[1].running_var.uniform_(0.5, 2)
    model[1].weight.data.uniform_(0.5, 2)
    model.eval()
    x = torch.randn(4, 3, 8, 8)
    with torch.no_grad():
        expected = model(x)
        folded = fold_batch_norms(model)
        assert not batch_norms(folded) and folded[0].bias is not None
        torch.testing.assert_close(folded(x), expected, rtol=1e-5, atol=1e-5)


def test_fold_leaves_training_and_unpaired_batch_norms() -> None:
    training = _conv_bn_act().train()
    fold_batch_norms(training)
    assert len(batch_norms(training)) == 1
    unpaired = nn.Sequential(nn.ReLU(), nn.BatchNorm2d(3)).eval()
    fold_batch_norms(unpaired)
    assert len(batch_norms(unpaired)) == 1


@pytest.mark.parametrize("name", ["test_mbv3_tiny", "test_proxyless_tiny", "test_resnet_tiny"])
def test_folded_static_copy_computes_the_same_function(name: str) -> None:
    net = create_supernet(name, num_classes=4).eval()
    arch = net.space.sample(np.random.default_rng(1))
    batches = [torch.randn(12, 3, arch.resolution, arch.resolution) for _ in range(2)]
    plain = net.static(arch)
    recalibrate_bn(plain, batches)
    fast = pointwise_as_matrix_products(activations_in_place(net.static(arch)))
    recalibrate_bn(fast, batches)
    folded = fold_batch_norms(fast.eval())
    assert not batch_norms(folded)  # in every family, each BN directly follows its convolution
    with torch.no_grad():
        torch.testing.assert_close(
            folded(batches[0]), plain.eval()(batches[0]), rtol=1e-4, atol=1e-4
        )


def test_pointwise_convolutions_multiply_matrices_on_pooled_inputs() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(8, 6, 1), nn.Conv2d(6, 6, 3), nn.Conv2d(6, 4, 1, stride=2))
    model = model.to(memory_format=torch.channels_last)
    pooled = torch.randn(5, 8, 1, 1).contiguous(memory_format=torch.channels_last)
    spatial = torch.randn(5, 8, 7, 7).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        expected_pooled, expected_spatial = model[0](pooled), model[0](spatial)
        pointwise_as_matrix_products(model)
        assert [type(m) for m in model] == [PointwiseConv2d, nn.Conv2d, nn.Conv2d]
        torch.testing.assert_close(model[0](pooled), expected_pooled, rtol=1e-5, atol=1e-5)
        assert torch.equal(model[0](spatial), expected_spatial)  # a convolution as before
