"""Multi-resolution batches: the resolution is chosen per batch, from a seeded stream.

OFA trains the supernet at a random resolution per batch (e.g. 128..224). Instead of a vendored
DataLoader with class-level state (the reference's approach), the plan of an epoch is data: the
main process writes one ``BatchPlan`` per step (item indices, resolution, augmentation seed), and a
stock ``torch.utils.data.DataLoader`` (``batch_size=None``) hands plans to worker processes, which
decode and augment a whole batch at the planned size and return it ready.

Everything random is a function of (seed, epoch, step, rank) through data/seeding.py, so:
- batches do not depend on ``num_workers`` (workers only execute plans);
- ``start_step=k`` yields exactly the batches k, k+1, ... of an uninterrupted epoch (resume);
- under DDP every rank takes its own slice of each global batch, and all ranks pick the same
  resolution at the same step (the resolution stream does not depend on the rank).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from onceforall.data.dataset import ImageDataset
from onceforall.data.folder import ImageFolder, folder_eval_batch, folder_train_batch
from onceforall.data.seeding import Purpose, numpy_stream
from onceforall.data.transforms import AugmentConfig, eval_transform, train_transform
from onceforall.errors import ConfigError, DataError

ImageSource = ImageDataset | ImageFolder

_DEFAULT_AUGMENT = AugmentConfig()


class Batch(NamedTuple):
    """A ready batch: normalized float32 B x 3 x R x R images, int64 labels, and its step."""

    images: torch.Tensor
    labels: torch.Tensor
    step: int  # training: the step within the epoch; evaluation: the batch number


@dataclass(frozen=True, eq=False)
class BatchPlan:
    """What a worker needs to build one batch. ``augment_seed`` is None for evaluation."""

    step: int
    resolution: int
    indices: np.ndarray  # int64 item indices, in batch order
    augment_seed: int | None


@dataclass(frozen=True)
class LoaderConfig:
    """Training loader settings. ``batch_size`` is per rank: a step consumes
    ``batch_size * world_size`` items of the epoch's permutation (the global batch)."""

    batch_size: int
    resolutions: tuple[int, ...]
    seed: int = 0
    num_workers: int = 0
    rank: int = 0
    world_size: int = 1
    pin_memory: bool = False
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.num_workers < 0 or self.seed < 0:
            raise ConfigError(
                f"need batch_size >= 1, num_workers >= 0 and seed >= 0, got {self.batch_size}, "
                f"{self.num_workers}, {self.seed}"
            )
        if not self.resolutions or min(self.resolutions) < 1:
            raise ConfigError(f"resolutions must be positive and non-empty, got {self.resolutions}")
        if not 0 <= self.rank < self.world_size:
            raise ConfigError(f"need 0 <= rank < world_size, got {self.rank}, {self.world_size}")


class _BatchMaker(Dataset[Batch]):
    """Turns a plan into a batch, in a worker (or the main process when ``num_workers=0``).

    Holds the source and the augmentation settings, nothing that changes."""

    def __init__(self, source: ImageSource, augment: AugmentConfig) -> None:
        self.source = source
        self.augment = augment

    def __getitem__(self, plan: BatchPlan) -> Batch:
        source, augment, resolution = self.source, self.augment, plan.resolution
        index = torch.from_numpy(plan.indices)
        generator = None
        if plan.augment_seed is not None:
            generator = torch.Generator().manual_seed(plan.augment_seed)
        if isinstance(source, ImageFolder):
            if generator is None:
                images = folder_eval_batch(source, plan.indices, resolution, augment)
            else:
                images = folder_train_batch(source, plan.indices, resolution, augment, generator)
        else:
            raw = source.images[index]
            if generator is None:
                images = eval_transform(raw, resolution, source.stats, augment)
            else:
                images = train_transform(raw, resolution, source.stats, augment, generator)
        return Batch(images=images, labels=source.labels[index], step=plan.step)


def steps_per_epoch(num_items: int, config: LoaderConfig) -> int:
    """Full global batches per epoch (training drops the incomplete last one)."""
    return num_items // (config.batch_size * config.world_size)


def plan_epoch(
    num_items: int, config: LoaderConfig, epoch: int, start_step: int = 0
) -> list[BatchPlan]:
    """This rank's plans for steps ``start_step ..`` of ``epoch``; see the module docstring."""
    steps = steps_per_epoch(num_items, config)
    if steps == 0:
        raise DataError(
            f"{num_items} items do not fill one global batch of "
            f"{config.batch_size} x {config.world_size} ranks"
        )
    if not 0 <= start_step <= steps:
        raise ConfigError(f"start_step {start_step} outside 0..{steps} (steps in this epoch)")
    seed, size = config.seed, config.batch_size
    order = numpy_stream(seed, Purpose.SHUFFLE, epoch=epoch).permutation(num_items)
    plans = []
    for step in range(start_step, steps):
        first = (step * config.world_size + config.rank) * size
        pick = numpy_stream(seed, Purpose.RESOLUTION, epoch=epoch, step=step)
        augment = numpy_stream(seed, Purpose.AUGMENT, epoch=epoch, step=step, rank=config.rank)
        plans.append(
            BatchPlan(
                step=step,
                resolution=config.resolutions[int(pick.integers(len(config.resolutions)))],
                indices=order[first : first + size].astype(np.int64),
                augment_seed=int(augment.integers(2**63)),
            )
        )
    return plans


def _loader(
    source: ImageSource,
    plans: list[BatchPlan],
    augment: AugmentConfig,
    num_workers: int,
    pin_memory: bool,
) -> DataLoader[Batch]:
    return DataLoader(
        _BatchMaker(source, augment),
        batch_size=None,  # each "sample" is a whole batch built from a plan
        sampler=plans,  # any sized iterable of keys works as a sampler
        num_workers=num_workers,
        pin_memory=pin_memory,
        # Seeds the workers' global RNGs (unused here); passing a generator keeps DataLoader from
        # drawing that seed from torch's global generator.
        generator=torch.Generator().manual_seed(0),
    )


def train_loader(
    source: ImageSource, config: LoaderConfig, epoch: int, start_step: int = 0
) -> DataLoader[Batch]:
    """Augmented batches of one epoch, from ``start_step`` on; ``len()`` is the steps left.

    A new loader per epoch: it is cheap (the plan is a few index arrays) and keeps no state.
    """
    plans = plan_epoch(len(source), config, epoch, start_step)
    return _loader(source, plans, config.augment, config.num_workers, config.pin_memory)


def _eval_plans(indices: np.ndarray, resolution: int, batch_size: int) -> list[BatchPlan]:
    if batch_size < 1 or resolution < 1:
        raise ConfigError(
            f"need batch_size >= 1 and resolution >= 1, got {batch_size}, {resolution}"
        )
    starts = range(0, len(indices), batch_size)
    return [
        BatchPlan(step, resolution, indices[start : start + batch_size], augment_seed=None)
        for step, start in enumerate(starts)
    ]


def eval_loader(
    source: ImageSource,
    resolution: int,
    batch_size: int,
    *,
    rank: int = 0,
    world_size: int = 1,
    num_workers: int = 0,
    pin_memory: bool = False,
    augment: AugmentConfig = _DEFAULT_AUGMENT,
) -> DataLoader[Batch]:
    """All items in order, un-augmented, at one resolution; the last batch may be smaller.

    Under DDP, rank ``r`` gets items ``r, r + world_size, ...``; together the ranks see each item
    once. ``augment`` only supplies the eval settings (``eval_crop_fraction``, ``small_image_max``).
    """
    if not 0 <= rank < world_size:
        raise ConfigError(f"need 0 <= rank < world_size, got {rank}, {world_size}")
    indices = np.arange(rank, len(source), world_size, dtype=np.int64)
    return _loader(
        source, _eval_plans(indices, resolution, batch_size), augment, num_workers, pin_memory
    )


def calibration_loader(
    source: ImageSource,
    resolution: int,
    *,
    count: int = 2000,
    batch_size: int = 200,
    seed: int = 0,
    num_workers: int = 0,
    augment: AugmentConfig = _DEFAULT_AUGMENT,
) -> DataLoader[Batch]:
    """A fixed, seeded subset of ``count`` items (all, if fewer) for BN re-calibration.

    OFA re-estimates BatchNorm statistics of each sub-network on ~2000 training images. The subset
    is the same for every resolution and call with the same seed, and transformed eval-style, so
    two sub-networks are calibrated on identical inputs. To reuse the images across many
    sub-networks, keep ``[batch.images for batch in loader]``.
    """
    if count < 1:
        raise ConfigError(f"count must be >= 1, got {count}")
    rng = numpy_stream(seed, Purpose.CALIBRATION)
    chosen = np.sort(rng.choice(len(source), size=min(count, len(source)), replace=False))
    plans = _eval_plans(chosen.astype(np.int64), resolution, batch_size)
    return _loader(source, plans, augment, num_workers, pin_memory=False)
