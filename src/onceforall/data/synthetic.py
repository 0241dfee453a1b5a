"""Tiny synthetic image sets that a small CNN learns in seconds, for tests and demos.

Class ``k`` is a sinusoidal grating: horizontal stripes for even ``k``, vertical for odd ``k``, with
``1 + k // 2`` cycles across the image. Phase, contrast and brightness are random per image and
Gaussian noise is added, so a network has to detect orientation and frequency rather than remember
pixels. The classes survive the training augmentation: a horizontal flip keeps both orientation and
frequency, and a shift of a few pixels only moves the phase. (Random-resized crops of large images
would change the apparent frequency: keep these images small, as their use in tests is.)
"""

from __future__ import annotations

import math

import numpy as np
import torch

from onceforall.data.dataset import DatasetStats, ImageDataset
from onceforall.data.seeding import Purpose, numpy_stream
from onceforall.errors import DataError


def _max_classes(size: int) -> int:
    # Stay below Nyquist: at most size / 3 cycles (>= 3 px per period) per orientation.
    return 2 * max(1, size // 3)


def make_synthetic(
    num_classes: int = 4,
    per_class: int = 64,
    size: int = 16,
    channels: int = 1,
    noise: float = 0.1,
    seed: int = 0,
) -> ImageDataset:
    """``num_classes * per_class`` uint8 images (channels x size x size), ordered class by class.

    ``noise`` is the standard deviation of the Gaussian noise, in units of the full 0..1 range.
    With ``channels == 3`` each image gets a random tint, equal in distribution across classes.
    """
    if not 2 <= num_classes <= _max_classes(size):
        raise DataError(
            f"{size} px images allow 2..{_max_classes(size)} classes, got {num_classes}"
        )
    if per_class < 1 or channels not in (1, 3) or noise < 0:
        raise DataError(
            f"need per_class >= 1, channels 1 or 3 and noise >= 0, got {per_class}, {channels}, "
            f"{noise}"
        )
    rng = numpy_stream(seed, Purpose.SYNTHETIC)
    count = num_classes * per_class
    labels = np.repeat(np.arange(num_classes), per_class)
    cycles = (1 + labels // 2).astype(np.float64)
    vertical = labels % 2 == 1
    grid = (np.arange(size) + 0.5) / size  # pixel centers in (0, 1)
    # Coordinate across the stripes: y for horizontal stripes, x for vertical ones.
    across = np.where(vertical[:, None, None], grid[None, None, :], grid[None, :, None])
    phase = rng.uniform(0, 2 * math.pi, count)[:, None, None]
    wave = np.sin(2 * math.pi * cycles[:, None, None] * across + phase)
    contrast = rng.uniform(0.25, 0.45, count)[:, None, None]
    brightness = rng.uniform(0.4, 0.6, count)[:, None, None]
    gray = brightness + contrast * wave  # count x size x size, within (0, 1)
    tint = rng.uniform(0.6, 1.0, (count, channels))[:, :, None, None] if channels == 3 else 1.0
    values = gray[:, None] * tint + rng.normal(0.0, noise, (count, channels, size, size))
    images = torch.from_numpy(np.clip(np.rint(values * 255), 0, 255).astype(np.uint8))
    orientation = ("horizontal", "vertical")
    names = tuple(f"{orientation[k % 2]}-{1 + k // 2}" for k in range(num_classes))
    return ImageDataset(
        name=f"synthetic-{num_classes}x{per_class}-{size}px",
        images=images,
        labels=torch.from_numpy(labels.astype(np.int64)),
        class_names=names,
        stats=DatasetStats.from_images(images),
    )
