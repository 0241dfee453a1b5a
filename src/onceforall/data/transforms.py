"""Training and evaluation transforms on whole uint8 batches.

A batch goes through three stages, each one call for the whole batch:
1. geometry: pad-crop (small images, <= ``small_image_max`` px) then a resize to the batch's
   resolution, or random-resized-crop straight to it (larger images); eval: center crop + resize;
2. random horizontal flip (training only);
3. normalization with the data set's statistics, then grayscale -> RGB by ``expand`` (no copy),
   since the networks take 3 channels.
Per-sample randomness comes from the ``torch.Generator`` passed in, drawn in a fixed order.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from onceforall.data.crops import center_box, pad_crop, resized_crop, sample_resized_crop_boxes
from onceforall.data.dataset import DatasetStats
from onceforall.errors import ConfigError, DataError


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation knobs; the defaults are the usual ImageNet / CIFAR settings."""

    flip: bool = True  # random horizontal flip with probability 1/2
    pad: int = 4  # pad-crop: zero padding per side, i.e. shifts of up to 4 px (CIFAR)
    scale: tuple[float, float] = (0.08, 1.0)  # random-resized-crop: crop area / image area
    ratio: tuple[float, float] = (3 / 4, 4 / 3)  # random-resized-crop: crop width / height
    small_image_max: int = 64  # images up to this side use pad-crop; larger, random-resized-crop
    # Eval of large images: center crop of this fraction of the shorter side, i.e. resize to
    # resolution / 0.875 and crop the resolution (224 from 256). Small images are only resized.
    eval_crop_fraction: float = 0.875

    def __post_init__(self) -> None:
        if self.pad < 0 or self.small_image_max < 0:
            raise ConfigError(f"pad and small_image_max must be >= 0, got {self}")
        if not 0 < self.scale[0] <= self.scale[1] <= 1:
            raise ConfigError(f"scale must satisfy 0 < low <= high <= 1, got {self.scale}")
        if not 0 < self.ratio[0] <= self.ratio[1]:
            raise ConfigError(f"ratio must satisfy 0 < low <= high, got {self.ratio}")
        if not 0 < self.eval_crop_fraction <= 1:
            raise ConfigError(
                f"eval_crop_fraction must be in (0, 1], got {self.eval_crop_fraction}"
            )

    def is_small(self, height: int, width: int) -> bool:
        """Whether images of this size get the small-image treatment (pad-crop, no eval crop)."""
        return max(height, width) <= self.small_image_max


def _check_batch(images: torch.Tensor, resolution: int) -> None:
    if images.dtype != torch.uint8 or images.dim() != 4:
        raise DataError(
            f"transforms take uint8 B x C x H x W batches, got {images.dtype} {tuple(images.shape)}"
        )
    if resolution < 1:
        raise ConfigError(f"resolution must be positive, got {resolution}")


def resize(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """Bilinear resize of a float batch to ``resolution`` x ``resolution``.

    Antialiased when shrinking: plain bilinear reads 2 source pixels per output pixel whatever the
    factor, so at 2x or more it skips pixels and aliases."""
    if images.shape[-2:] == (resolution, resolution):
        return images
    shrinking = resolution < max(images.shape[-2:])
    return F.interpolate(
        images,
        size=(resolution, resolution),
        mode="bilinear",
        align_corners=False,
        antialias=shrinking,
    )


def finish_batch(
    images: torch.Tensor, stats: DatasetStats, flip_generator: torch.Generator | None = None
) -> torch.Tensor:
    """Flip (when a generator is given), normalize and make RGB a batch of 0..255 values.

    ``images`` may be uint8 or float in the 0..255 range; returns float32 B x 3 x H x W. A 1-channel
    batch comes back as an ``expand``-ed view (stride 0 over channels): no copy is made.
    """
    if images.shape[1] != stats.channels:
        raise DataError(f"images have {images.shape[1]} channels, stats {stats.channels}")
    mean = torch.tensor(stats.mean, dtype=torch.float32)[:, None, None]
    std = torch.tensor(stats.std, dtype=torch.float32)[:, None, None]
    if flip_generator is not None:  # flips before the float conversion: 1 byte per value if uint8
        flip = torch.rand(len(images), generator=flip_generator) < 0.5
        images = torch.where(flip[:, None, None, None], images.flip(3), images)
    # One fused pass: x / (255 std) - mean / std.
    normalized = torch.addcmul(-mean / std, images.to(torch.float32), 1 / (255 * std))
    if normalized.shape[1] == 1:
        return normalized.expand(-1, 3, -1, -1)
    if normalized.shape[1] != 3:
        raise DataError(f"images need 1 or 3 channels, got {normalized.shape[1]}")
    return normalized


def train_transform(
    images: torch.Tensor,
    resolution: int,
    stats: DatasetStats,
    config: AugmentConfig,
    generator: torch.Generator,
) -> torch.Tensor:
    """Augment a uint8 batch of equal-size images to float32 B x 3 x resolution x resolution."""
    _check_batch(images, resolution)
    count, _, height, width = images.shape
    if config.is_small(height, width):
        cropped = pad_crop(images, config.pad, generator)
        geometry = resize(cropped.to(torch.float32), resolution)
    else:
        sizes = torch.tensor([height, width]).expand(count, 2)
        boxes = sample_resized_crop_boxes(
            sizes[:, 0], sizes[:, 1], config.scale, config.ratio, generator
        )
        geometry = resized_crop(images, boxes, resolution)
    return finish_batch(geometry, stats, generator if config.flip else None)


def eval_transform(
    images: torch.Tensor, resolution: int, stats: DatasetStats, config: AugmentConfig
) -> torch.Tensor:
    """A uint8 batch to float32 B x 3 x resolution x resolution, without randomness.

    Small images are resized; larger ones center-cropped to ``config.eval_crop_fraction`` of the
    shorter side, then resized.
    """
    _check_batch(images, resolution)
    height, width = images.shape[2:]
    if not config.is_small(height, width):
        top, left, side, _ = center_box(height, width, config.eval_crop_fraction)
        images = images[:, :, top : top + side, left : left + side]
    return finish_batch(resize(images.to(torch.float32), resolution), stats)
