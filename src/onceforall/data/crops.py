"""Crops for whole batches: random-resized-crop boxes, batched resized crops, pad-crops.

All functions take a batch (B x C x H x W) and draw per-sample randomness from one
``torch.Generator`` in a fixed order, so a batch depends only on its generator's seed. Boxes are
integer ``(top, left, height, width)`` rows in pixels of the source image.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

_CROP_ATTEMPTS = 10  # as torchvision's RandomResizedCrop: tries before the center-crop fallback


def sample_resized_crop_boxes(
    heights: torch.Tensor,
    widths: torch.Tensor,
    scale: tuple[float, float],
    ratio: tuple[float, float],
    generator: torch.Generator,
) -> torch.Tensor:
    """One random-resized-crop box per image, as a B x 4 int64 tensor.

    torchvision's rule, vectorized: up to 10 tries of (area fraction ~ U(scale), log aspect ratio
    ~ U(log ratio)); the first box that fits wins, else the largest centered box whose aspect ratio
    is within ``ratio``. Every image draws the same number of random values whichever try wins, so
    the stream stays aligned across samples.
    """
    count = len(heights)
    h_in, w_in = heights.to(torch.float64)[:, None], widths.to(torch.float64)[:, None]
    shape = (count, _CROP_ATTEMPTS)
    area = (
        h_in * w_in * torch.empty(shape, dtype=torch.float64).uniform_(*scale, generator=generator)
    )
    log_ratio = torch.empty(shape, dtype=torch.float64).uniform_(
        math.log(ratio[0]), math.log(ratio[1]), generator=generator
    )
    aspect = log_ratio.exp()
    w = (area * aspect).sqrt().round()
    h = (area / aspect).sqrt().round()
    fits = (w >= 1) & (w <= w_in) & (h >= 1) & (h <= h_in)
    first = fits.to(torch.uint8).argmax(dim=1, keepdim=True)  # first try that fits (0 if none)
    h, w = h.gather(1, first)[:, 0], w.gather(1, first)[:, 0]
    h_in, w_in = h_in[:, 0], w_in[:, 0]

    # Fallback: the whole image, trimmed to the nearest allowed aspect ratio.
    in_ratio = w_in / h_in
    fallback_w = torch.where(in_ratio > ratio[1], (h_in * ratio[1]).round(), w_in)
    fallback_h = torch.where(in_ratio < ratio[0], (w_in / ratio[0]).round(), h_in)
    found = fits.any(dim=1)
    h, w = torch.where(found, h, fallback_h), torch.where(found, w, fallback_w)

    where = torch.rand((count, 2), dtype=torch.float64, generator=generator)
    random_top = (where[:, 0] * (h_in - h + 1)).floor()
    random_left = (where[:, 1] * (w_in - w + 1)).floor()
    top = torch.where(found, random_top, ((h_in - h) / 2).floor())
    left = torch.where(found, random_left, ((w_in - w) / 2).floor())
    return torch.stack([top, left, h, w], dim=1).to(torch.int64)


def center_box(height: int, width: int, fraction: float) -> tuple[int, int, int, int]:
    """The centered square whose side is ``fraction`` of the shorter side (eval-time crop)."""
    side = max(1, round(min(height, width) * fraction))
    return (height - side) // 2, (width - side) // 2, side, side


def _resample_matrix(
    starts: torch.Tensor, lengths: torch.Tensor, size: int, out: int
) -> torch.Tensor:
    """B x out x size weights that resample [start, start + length) of an axis to ``out`` pixels.

    The triangle (bilinear) filter, widened by the downscaling factor and normalized per output
    pixel: the same weights as ``F.interpolate(mode="bilinear", antialias=True,
    align_corners=False)``, but with a different window per sample.
    """
    step = lengths.to(torch.float32) / out
    support = step.clamp(min=1.0)
    centers = starts.to(torch.float32)[:, None] + (torch.arange(out) + 0.5) * step[:, None]
    distance = (torch.arange(size) + 0.5)[None, None, :] - centers[:, :, None]
    weights = (1 - distance.abs() / support[:, None, None]).clamp_(min=0)
    return weights / weights.sum(dim=2, keepdim=True)


def resized_crop(images: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Crop each image to its box and resize it to ``size`` x ``size``, for the whole batch at once.

    Cropping-then-resizing equal-size images with a different box each is a per-sample operation
    for ``F.interpolate``; written as two batched matrix products (rows, then columns) it is one
    call for the batch, antialiased where a box is larger than ``size``. Returns float32 in the
    value range of ``images``.
    """
    rows = _resample_matrix(boxes[:, 0], boxes[:, 2], images.shape[2], size)
    cols = _resample_matrix(boxes[:, 1], boxes[:, 3], images.shape[3], size)
    values = images.to(torch.float32)
    return rows[:, None] @ values @ cols[:, None].transpose(2, 3)


def pad_crop(images: torch.Tensor, pad: int, generator: torch.Generator) -> torch.Tensor:
    """Zero-pad each image by ``pad`` pixels per side and take a random crop of the original size.

    The small-image augmentation (CIFAR style): shifts of up to ``pad`` pixels in each direction.
    """
    if pad == 0:
        return images
    count, _, height, width = images.shape
    offsets = torch.randint(0, 2 * pad + 1, (count, 2), generator=generator)
    padded = F.pad(images, (pad, pad, pad, pad)).permute(0, 2, 3, 1)  # B x H x W x C
    rows = (offsets[:, 0, None] + torch.arange(height))[:, :, None]
    cols = (offsets[:, 1, None] + torch.arange(width))[:, None, :]
    batch = torch.arange(count)[:, None, None]
    return padded[batch, rows, cols].permute(0, 3, 1, 2).contiguous()
