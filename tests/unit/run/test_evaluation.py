"""Evaluator.evaluate (chunked, BN folded, activations in place) against the straightforward way."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from onceforall.data import make_synthetic
from onceforall.elastify import elastify
from onceforall.models.registry import create_supernet
from onceforall.nn.bn import recalibrate_bn
from onceforall.nn.inference import forward_chunk_size
from onceforall.nn.memory_format import to_channels_last
from onceforall.run.evaluation import Evaluator


def straightforward(evaluator: Evaluator, net: Any, arch: Any) -> float:
    """What Evaluator.evaluate computed before issue 17: whole batches, BNs as they are."""
    model = to_channels_last(net.static(arch))
    recalibrate_bn(model, evaluator.calibration_batches(arch.resolution))
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for images, labels in evaluator.eval_batches(arch.resolution):
            correct += int((model(images).argmax(dim=1) == labels).sum())
            total += len(labels)
    return correct / total


@pytest.mark.parametrize("name", ["test_mbv3_tiny", "test_proxyless_tiny", "test_resnet_tiny"])
def test_evaluate_gives_the_straightforward_accuracies(name: str) -> None:
    torch.manual_seed(0)
    data = make_synthetic(num_classes=4, per_class=100, size=20, channels=3, seed=0)
    train, held_out = data.subset(np.arange(0, 400, 2)), data.subset(np.arange(1, 400, 2))
    net = create_supernet(name, num_classes=4, dropout=0.0).eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    evaluator = Evaluator(
        train,
        held_out,
        calibration_images=150,
        batch_size=200,
        seed=0,
        device=torch.device("cpu"),
    )
    rng = np.random.default_rng(0)
    archs = [net.space.max(), *(net.space.sample(rng) for _ in range(3))]
    assert any(  # the chunked path is taken
        forward_chunk_size(evaluator.eval_batches(a.resolution)[0][0]) < 200 for a in archs
    )
    accuracies = [evaluator.evaluate(net, arch).accuracy for arch in archs]
    assert accuracies == [straightforward(evaluator, net, arch) for arch in archs]
    assert len(set(accuracies)) > 1  # not all at one chance level
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


class ReachesInside(nn.Module):
    """A user network whose forward keeps a batch norm's output from inside an nn.Sequential:
    in-place activations or folded batch norms would change what it computes."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.Conv2d(16, 16, 3, padding=1, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(),
        )
        self.classifier = nn.Linear(32, 4)

    def forward(self, x: Tensor) -> Tensor:
        kept = []
        for layer in self.features:
            x = layer(x)
            if isinstance(layer, nn.BatchNorm2d):
                kept.append(x)
        return self.classifier(torch.cat([k.mean((2, 3)) for k in kept], dim=1))


def test_a_user_network_is_evaluated_as_it_is() -> None:
    torch.manual_seed(0)
    data = make_synthetic(num_classes=4, per_class=60, size=16, channels=3, seed=0)
    train, held_out = data.subset(np.arange(0, 240, 2)), data.subset(np.arange(1, 240, 2))
    net = elastify(ReachesInside(), torch.randn(2, 3, 16, 16), resolutions=(16,)).eval()
    assert not net.static_sequentials_called_whole
    evaluator = Evaluator(
        train, held_out, calibration_images=60, batch_size=120, seed=0, device=torch.device("cpu")
    )
    rng = np.random.default_rng(0)
    for arch in [net.space.max(), *(net.space.sample(rng) for _ in range(2))]:
        assert evaluator.evaluate(net, arch).accuracy == straightforward(evaluator, net, arch)
