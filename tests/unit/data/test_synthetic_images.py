"""Synthetic class-conditional images: shapes, determinism, and that a small CNN learns them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torch import nn

from onceforall.data.loader import LoaderConfig, eval_loader, train_loader
from onceforall.data.synthetic import make_synthetic
from onceforall.errors import DataError


@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_labels_and_stats(channels: int) -> None:
    data = make_synthetic(num_classes=6, per_class=10, size=20, channels=channels, seed=3)
    assert data.images.shape == (60, channels, 20, 20) and data.images.dtype == torch.uint8
    assert torch.bincount(data.labels).tolist() == [10] * 6
    assert data.class_names[:3] == ("horizontal-1", "vertical-1", "horizontal-2")
    assert data.stats.channels == channels
    assert 0.3 < data.stats.mean[0] < 0.7 and data.stats.std[0] > 0.1


def test_deterministic_per_seed() -> None:
    assert torch.equal(make_synthetic(seed=4).images, make_synthetic(seed=4).images)
    assert not torch.equal(make_synthetic(seed=4).images, make_synthetic(seed=5).images)


@pytest.mark.parametrize(
    "arguments",
    [
        {"num_classes": 1},
        {"num_classes": 12, "size": 16},
        {"per_class": 0},
        {"channels": 2},
        {"noise": -0.1},
    ],
)
def test_invalid_arguments(arguments: dict[str, Any]) -> None:
    with pytest.raises(DataError):
        make_synthetic(**arguments)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Tiny convolutions run faster on one thread, and with two they slow down ~100x when another
    process keeps the cores busy (OpenMP threads wait on each other at every op)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("one_thread")
def test_a_small_cnn_learns_the_classes() -> None:
    train = make_synthetic(num_classes=4, per_class=64, size=16, noise=0.1, seed=0)
    test = make_synthetic(num_classes=4, per_class=32, size=16, noise=0.1, seed=1)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 4),
    )
    generator = torch.Generator().manual_seed(0)
    for parameter in model.parameters():
        if parameter.dim() > 1:
            nn.init.kaiming_normal_(parameter, generator=generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    config = LoaderConfig(batch_size=32, resolutions=(12, 16, 20), seed=0)
    for epoch in range(15):
        for batch in train_loader(train, config, epoch):
            loss = nn.functional.cross_entropy(model(batch.images), batch.labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        correct = sum(
            int((model(batch.images).argmax(1) == batch.labels).sum())
            for batch in eval_loader(test, 16, 64)
        )
    assert correct / len(test) > 0.9
