"""ImageDataset validation, subsets and DatasetStats."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from onceforall.data.dataset import IMAGENET_STATS, DatasetStats, ImageDataset
from onceforall.errors import DataError

GRAY = DatasetStats(mean=(0.5,), std=(0.25,))


def _dataset(count: int = 6, channels: int = 1, classes: int = 3) -> ImageDataset:
    images = torch.arange(count * channels * 4 * 5, dtype=torch.int64).remainder(256)
    return ImageDataset(
        name="tiny",
        images=images.to(torch.uint8).reshape(count, channels, 4, 5),
        labels=torch.arange(count) % classes,
        class_names=tuple(f"c{k}" for k in range(classes)),
        stats=GRAY if channels == 1 else IMAGENET_STATS,
    )


def test_properties() -> None:
    data = _dataset()
    assert len(data) == 6 and data.num_classes == 3 and data.channels == 1
    assert data.image_size == (4, 5)


def test_subset_keeps_order_name_and_stats() -> None:
    data = _dataset()
    part = data.subset(np.array([4, 1]))
    assert torch.equal(part.images, data.images[[4, 1]])
    assert part.labels.tolist() == [1, 1]
    assert (part.name, part.stats, part.class_names) == (data.name, data.stats, data.class_names)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"images": torch.zeros(6, 1, 4, 5)}, "uint8"),
        ({"images": torch.zeros(6, 4, 5, dtype=torch.uint8)}, "uint8 N x C x H x W"),
        ({"labels": torch.zeros(6, dtype=torch.int32)}, "int64"),
        ({"labels": torch.zeros(5, dtype=torch.int64)}, "shape"),
        ({"labels": torch.full((6,), 3)}, "outside"),
        ({"labels": torch.full((6,), -1)}, "outside"),
        ({"stats": IMAGENET_STATS}, "channels"),
    ],
)
def test_invalid_datasets(change: dict[str, Any], message: str) -> None:
    data = _dataset()
    fields: dict[str, Any] = {
        "name": data.name,
        "images": data.images,
        "labels": data.labels,
        "class_names": data.class_names,
        "stats": data.stats,
        **change,
    }
    with pytest.raises(DataError, match=message):
        ImageDataset(**fields)


def test_stats_from_images_match_direct_computation() -> None:
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (5000, 3, 6, 7), generator=generator, dtype=torch.uint8)
    stats = DatasetStats.from_images(images)  # more than one chunk
    values = images.to(torch.float64) / 255
    np.testing.assert_allclose(stats.mean, values.mean(dim=(0, 2, 3)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        stats.std, values.std(dim=(0, 2, 3), correction=0).numpy(), rtol=1e-9
    )


@pytest.mark.parametrize(("mean", "std"), [((0.5,), (0.2, 0.3)), ((), ()), ((0.5,), (0.0,))])
def test_invalid_stats(mean: tuple[float, ...], std: tuple[float, ...]) -> None:
    with pytest.raises(DataError):
        DatasetStats(mean=mean, std=std)


def test_stats_need_uint8_images() -> None:
    with pytest.raises(DataError, match="uint8"):
        DatasetStats.from_images(torch.zeros(2, 1, 3, 3))
