"""In-memory image data sets as values, and the normalization statistics they carry.

Images stay uint8 (N x C x H x W): 60k 28x28 images take 47 MB that way instead of 188 MB as
float32, and they are shared with loader worker processes without copies. Conversion to float and
normalization happen per batch, in data/transforms.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from onceforall.errors import DataError

_STATS_CHUNK = 4096  # images per chunk when computing statistics, to bound float64 temporaries


@dataclass(frozen=True)
class DatasetStats:
    """Per-channel mean and standard deviation of pixel values scaled to [0, 1]."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.mean) != len(self.std) or not self.mean:
            raise DataError(f"mean {self.mean} and std {self.std} need the same non-zero length")
        if min(self.std) <= 0:
            raise DataError(f"std must be positive, got {self.std}")

    @property
    def channels(self) -> int:
        return len(self.mean)

    @classmethod
    def from_images(cls, images: torch.Tensor) -> DatasetStats:
        """Exact statistics of a uint8 N x C x H x W tensor (float64 sums, chunked)."""
        if images.dtype != torch.uint8 or images.dim() != 4 or len(images) == 0:
            raise DataError(
                f"need a non-empty uint8 N x C x H x W tensor, got {images.dtype} "
                f"{tuple(images.shape)}"
            )
        total = torch.zeros(images.shape[1], dtype=torch.float64)
        squares = torch.zeros_like(total)
        for chunk in images.split(_STATS_CHUNK):
            values = chunk.to(torch.float64).div_(255.0)
            total += values.sum(dim=(0, 2, 3))
            squares += values.square_().sum(dim=(0, 2, 3))
        count = images.numel() // images.shape[1]
        mean = total / count
        std = (squares / count - mean.square()).clamp_min(1e-12).sqrt()
        return cls(mean=tuple(mean.tolist()), std=tuple(std.tolist()))


# The usual ImageNet statistics; the default for folders of natural photographs.
IMAGENET_STATS = DatasetStats(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """A labelled image set held in memory.

    ``stats`` are the statistics used to normalize this set. A split (``subset``) keeps the parent's
    statistics, so held-out and test images are normalized like the training images.
    """

    name: str
    images: torch.Tensor  # uint8, N x C x H x W
    labels: torch.Tensor  # int64, N
    class_names: tuple[str, ...]
    stats: DatasetStats

    def __post_init__(self) -> None:
        images, labels = self.images, self.labels
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise DataError(
                f"{self.name}: images must be uint8 N x C x H x W, got {images.dtype} "
                f"{tuple(images.shape)}"
            )
        if labels.dtype != torch.int64 or labels.shape != images.shape[:1]:
            raise DataError(
                f"{self.name}: labels must be int64 of shape ({len(images)},), got "
                f"{labels.dtype} {tuple(labels.shape)}"
            )
        if len(labels) and (labels.min() < 0 or labels.max() >= len(self.class_names)):
            raise DataError(f"{self.name}: labels outside [0, {len(self.class_names)})")
        if self.stats.channels != images.shape[1]:
            raise DataError(
                f"{self.name}: stats have {self.stats.channels} channels, images "
                f"have {images.shape[1]}"
            )

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def image_size(self) -> tuple[int, int]:
        """(height, width) of every image."""
        return int(self.images.shape[2]), int(self.images.shape[3])

    def subset(self, indices: np.ndarray) -> ImageDataset:
        """The images at ``indices`` (in that order), with this set's name and statistics."""
        index = torch.as_tensor(np.asarray(indices, dtype=np.int64))
        return ImageDataset(
            name=self.name,
            images=self.images[index],
            labels=self.labels[index],
            class_names=self.class_names,
            stats=self.stats,
        )
