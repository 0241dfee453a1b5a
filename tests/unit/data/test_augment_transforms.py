"""Batched crops and transforms: shapes, value range, exactness and determinism per generator."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from onceforall.data.crops import (
    center_box,
    pad_crop,
    resized_crop,
    sample_resized_crop_boxes,
)
from onceforall.data.dataset import DatasetStats
from onceforall.data.transforms import AugmentConfig, eval_transform, finish_batch, train_transform
from onceforall.errors import ConfigError, DataError

GRAY = DatasetStats(mean=(0.25,), std=(0.5,))
RGB = DatasetStats(mean=(0.4, 0.5, 0.6), std=(0.2, 0.25, 0.3))


def _images(count: int, channels: int, size: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    shape = (count, channels, size, size)
    return torch.randint(0, 256, shape, generator=generator, dtype=torch.uint8)


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _bounds(stats: DatasetStats) -> tuple[torch.Tensor, torch.Tensor]:
    mean, std = torch.tensor(stats.mean), torch.tensor(stats.std)
    return (-mean / std)[:, None, None], ((1 - mean) / std)[:, None, None]


@pytest.mark.parametrize(
    ("channels", "size", "resolution"), [(1, 28, 32), (1, 28, 24), (3, 32, 32), (3, 96, 64)]
)
def test_train_shape_range_and_determinism(channels: int, size: int, resolution: int) -> None:
    stats = GRAY if channels == 1 else RGB
    images, config = _images(16, channels, size), AugmentConfig()
    out = train_transform(images, resolution, stats, config, _generator(1))
    assert out.shape == (16, 3, resolution, resolution) and out.dtype == torch.float32
    low, high = _bounds(stats)
    if channels == 1:
        low, high = low.expand(3, 1, 1), high.expand(3, 1, 1)
    assert torch.all(out >= low - 1e-5) and torch.all(out <= high + 1e-5)
    assert torch.equal(out, train_transform(images, resolution, stats, config, _generator(1)))
    assert not torch.equal(out, train_transform(images, resolution, stats, config, _generator(2)))


def test_eval_is_exact_normalization_at_native_size() -> None:
    images = _images(4, 3, 32)
    out = eval_transform(images, 32, RGB, AugmentConfig())
    mean, std = torch.tensor(RGB.mean)[:, None, None], torch.tensor(RGB.std)[:, None, None]
    torch.testing.assert_close(out, (images / 255 - mean) / std)


def test_eval_of_large_images_center_crops() -> None:
    images = _images(2, 3, 80)  # above small_image_max = 64
    out = eval_transform(images, 70, RGB, AugmentConfig(eval_crop_fraction=0.875))
    # 0.875 of 80 is 70: the center crop is already at the resolution, no resampling.
    torch.testing.assert_close(out, finish_batch(images[:, :, 5:75, 5:75], RGB))
    assert center_box(64, 80, 0.875) == (4, 12, 56, 56)


def test_grayscale_is_expanded_without_copy() -> None:
    out = eval_transform(_images(3, 1, 28), 28, GRAY, AugmentConfig())
    assert out.shape == (3, 3, 28, 28) and out.stride(1) == 0
    assert torch.equal(out[:, 0], out[:, 2])


def test_flip_only_mirrors() -> None:
    images = _images(32, 3, 16)
    plain = finish_batch(images, RGB)
    flipped = finish_batch(images, RGB, _generator(0))
    same = (flipped == plain).flatten(1).all(1)
    mirrored = (flipped == plain.flip(3)).flatten(1).all(1)
    assert torch.all(same | mirrored) and same.any() and mirrored.any()


@pytest.mark.parametrize(("size", "out"), [(40, 16), (40, 40), (12, 29)])
def test_resized_crop_of_full_box_equals_interpolate(size: int, out: int) -> None:
    images = _images(3, 2, size)
    boxes = torch.tensor([[0, 0, size, size]] * 3)
    expected = F.interpolate(
        images.float(), size=(out, out), mode="bilinear", align_corners=False, antialias=True
    )
    torch.testing.assert_close(resized_crop(images, boxes, out), expected, atol=2e-3, rtol=0)


def test_resized_crop_of_a_box_equals_interpolate_of_the_box() -> None:
    images = _images(2, 1, 30)
    # Interior boxes so that the filter taps stay inside the box (F.interpolate clamps at edges).
    boxes = torch.tensor([[5, 7, 20, 20], [0, 0, 10, 10]])
    got = resized_crop(images, boxes, 10)
    torch.testing.assert_close(got[1], images[1, :, :10, :10].float(), atol=1e-3, rtol=0)
    inner = F.interpolate(
        images[:1, :, 5:25, 7:27].float(), size=(10, 10), mode="bilinear", antialias=True
    )
    torch.testing.assert_close(got[0, :, 1:-1, 1:-1], inner[0, :, 1:-1, 1:-1], atol=2e-3, rtol=0)


def test_random_resized_crop_boxes() -> None:
    heights = torch.tensor([100, 60, 300] * 200)
    widths = torch.tensor([100, 200, 40] * 200)
    scale, ratio = (0.08, 1.0), (3 / 4, 4 / 3)
    boxes = sample_resized_crop_boxes(heights, widths, scale, ratio, _generator(0))
    top, left, h, w = boxes.unbind(1)
    assert boxes.dtype == torch.int64
    assert torch.all((top >= 0) & (left >= 0) & (h >= 1) & (w >= 1))
    assert torch.all((top + h <= heights) & (left + w <= widths))
    area = (h * w) / (heights * widths)
    assert area.min() >= 0.07 and area.max() <= 1.0
    assert area.std() > 0.1  # genuinely random sizes
    aspect = (w / h).log()
    assert aspect.min() >= math.log(3 / 4) - 0.1 and aspect.max() <= math.log(4 / 3) + 0.1
    again = sample_resized_crop_boxes(heights, widths, scale, ratio, _generator(0))
    assert torch.equal(boxes, again)


def test_random_resized_crop_falls_back_to_center() -> None:
    # A 1 x 100 strip fits no box with aspect ratio in [3/4, 4/3] and area >= 8%.
    boxes = sample_resized_crop_boxes(
        torch.tensor([1]), torch.tensor([100]), (0.08, 1.0), (3 / 4, 4 / 3), _generator(0)
    )
    assert boxes.tolist() == [[0, 49, 1, 1]]


def test_pad_crop_is_a_shift() -> None:
    images = _images(20, 1, 8)
    out = pad_crop(images, 2, _generator(0))
    padded = F.pad(images, (2, 2, 2, 2))
    for image, crop in zip(padded, out, strict=True):
        shifts = [
            (dy, dx)
            for dy in range(5)
            for dx in range(5)
            if torch.equal(image[:, dy : dy + 8, dx : dx + 8], crop)
        ]
        assert shifts
    assert torch.equal(pad_crop(images, 0, _generator(0)), images)


@pytest.mark.parametrize(
    "change",
    [
        {"pad": -1},
        {"scale": (0.0, 1.0)},
        {"scale": (0.5, 0.4)},
        {"ratio": (2.0, 1.0)},
        {"eval_crop_fraction": 0.0},
        {"eval_crop_fraction": 1.5},
    ],
)
def test_invalid_augment_config(change: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        AugmentConfig(**change)


def test_invalid_batches() -> None:
    with pytest.raises(DataError, match="uint8"):
        train_transform(torch.zeros(2, 1, 8, 8), 8, GRAY, AugmentConfig(), _generator(0))
    with pytest.raises(ConfigError, match="resolution"):
        eval_transform(_images(2, 1, 8), 0, GRAY, AugmentConfig())
    with pytest.raises(DataError, match="channels"):
        eval_transform(_images(2, 3, 8), 8, GRAY, AugmentConfig())
