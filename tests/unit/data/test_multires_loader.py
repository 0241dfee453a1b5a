"""The multi-resolution loader: determinism, resume, DDP sharding, eval and calibration loaders."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import torch

from onceforall.data.dataset import ImageDataset
from onceforall.data.fashion_mnist import DEFAULT_ROOT, load_fashion_mnist
from onceforall.data.loader import (
    Batch,
    LoaderConfig,
    calibration_loader,
    eval_loader,
    plan_epoch,
    steps_per_epoch,
    train_loader,
)
from onceforall.data.synthetic import make_synthetic
from onceforall.data.transforms import AugmentConfig, eval_transform
from onceforall.errors import ConfigError, DataError

SMALL = make_synthetic(num_classes=4, per_class=50, size=16, seed=0)  # pad-crop path
LARGE = make_synthetic(num_classes=4, per_class=10, size=80, channels=3, seed=0)  # resized crops


def _same(first: list[Batch], second: list[Batch]) -> bool:
    return len(first) == len(second) and all(
        a.step == b.step and torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
        for a, b in zip(first, second, strict=True)
    )


@pytest.mark.parametrize(
    ("data", "resolutions"), [(SMALL, (12, 16, 20)), (LARGE, (48, 64))], ids=["pad", "resized"]
)
def test_batches_do_not_depend_on_workers(data: ImageDataset, resolutions: tuple[int, ...]) -> None:
    runs = [
        list(train_loader(data, LoaderConfig(16, resolutions, seed=3, num_workers=workers), 2))
        for workers in (0, 2)
    ]
    assert _same(*runs)
    assert {batch.images.shape[-1] for batch in runs[0]} == set(resolutions)


def test_batches_are_ready_for_the_network() -> None:
    config = LoaderConfig(batch_size=8, resolutions=(12, 16, 20), seed=0)
    plans = plan_epoch(len(SMALL), config, epoch=0)
    for plan, batch in zip(plans, train_loader(SMALL, config, epoch=0), strict=True):
        assert batch.images.shape == (8, 3, plan.resolution, plan.resolution)
        assert batch.images.dtype == torch.float32 and batch.labels.dtype == torch.int64
        assert torch.equal(batch.labels, SMALL.labels[plan.indices])
        assert batch.step == plan.step


def test_resume_mid_epoch_gives_the_same_batches() -> None:
    config = LoaderConfig(batch_size=16, resolutions=(12, 16, 20), seed=5)
    full = list(train_loader(SMALL, config, epoch=1))
    resumed_loader = train_loader(SMALL, config, epoch=1, start_step=4)
    assert len(resumed_loader) == len(full) - 4
    assert _same(list(resumed_loader), full[4:])
    assert list(train_loader(SMALL, config, epoch=1, start_step=len(full))) == []


def test_epochs_visit_items_once_and_drop_the_last_partial_batch() -> None:
    config = LoaderConfig(batch_size=24, resolutions=(16,), seed=0)
    assert steps_per_epoch(200, config) == 8
    orders = []
    for epoch in range(2):
        seen = np.concatenate([plan.indices for plan in plan_epoch(200, config, epoch)])
        assert len(seen) == 192 and len(set(seen.tolist())) == 192
        orders.append(seen)
    assert not np.array_equal(orders[0], orders[1])


@pytest.mark.parametrize("world_size", [2, 3])
def test_ddp_ranks_share_resolution_and_split_each_global_batch(world_size: int) -> None:
    def config(rank: int, world: int, batch: int) -> LoaderConfig:
        return LoaderConfig(batch, (12, 16, 20, 24), seed=9, rank=rank, world_size=world)

    per_rank = [plan_epoch(200, config(rank, world_size, 8), epoch=3) for rank in range(world_size)]
    single = plan_epoch(200, config(0, 1, 8 * world_size), epoch=3)
    assert all(len(plans) == len(single) == 200 // (8 * world_size) for plans in per_rank)
    for step, plans in enumerate(zip(*per_rank, strict=True)):
        assert len({plan.resolution for plan in plans}) == 1
        assert all(plan.step == step for plan in plans)
        assert len({plan.augment_seed for plan in plans}) == world_size
        joined = np.concatenate([plan.indices for plan in plans])
        assert len(set(joined.tolist())) == len(joined)  # disjoint
        assert np.array_equal(joined, single[step].indices)  # together: the global batch
    assert len({plan.resolution for plan in per_rank[0]}) > 1


def test_eval_loader_in_order_and_sharded() -> None:
    batches = list(eval_loader(SMALL, 20, batch_size=64))
    assert [len(batch.labels) for batch in batches] == [64, 64, 64, 8]
    images = torch.cat([batch.images for batch in batches])
    torch.testing.assert_close(
        images, eval_transform(SMALL.images, 20, SMALL.stats, AugmentConfig())
    )
    assert torch.equal(torch.cat([batch.labels for batch in batches]), SMALL.labels)
    shards = [
        torch.cat([b.images for b in eval_loader(SMALL, 20, 64, rank=rank, world_size=3)])
        for rank in range(3)
    ]
    assert sum(len(shard) for shard in shards) == len(SMALL)
    for rank, shard in enumerate(shards):
        torch.testing.assert_close(shard, images[rank::3])


def test_calibration_images_are_fixed() -> None:
    def labels_and_images(resolution: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        batches = list(calibration_loader(SMALL, resolution, count=60, batch_size=25, seed=seed))
        assert [len(batch.labels) for batch in batches] == [25, 25, 10]
        return torch.cat([b.labels for b in batches]), torch.cat([b.images for b in batches])

    labels, images = labels_and_images(16, seed=0)
    again_labels, again_images = labels_and_images(16, seed=0)
    assert torch.equal(labels, again_labels) and torch.equal(images, again_images)
    other_resolution_labels, other_images = labels_and_images(20, seed=0)
    assert torch.equal(labels, other_resolution_labels) and other_images.shape[-1] == 20
    assert not torch.equal(labels_and_images(16, seed=1)[1], images)
    everything = list(calibration_loader(SMALL, 16, count=10_000, batch_size=500))
    assert len(everything[0].labels) == len(SMALL)


@pytest.mark.parametrize("workers", [0, 2])
def test_global_random_state_is_untouched(workers: int) -> None:
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    config = LoaderConfig(16, (12, 16), seed=0, num_workers=workers)
    list(itertools.islice(train_loader(SMALL, config, 0), 3))
    list(calibration_loader(SMALL, 16, count=20, num_workers=workers))
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert str(np.random.get_state()) == str(numpy_state)


def test_invalid_settings() -> None:
    invalid: list[dict[str, Any]] = [
        {"batch_size": 0},
        {"resolutions": ()},
        {"resolutions": (0, 16)},
        {"rank": 2, "world_size": 2},
        {"seed": -1},
        {"num_workers": -1},
    ]
    for arguments in invalid:
        with pytest.raises(ConfigError):
            LoaderConfig(**{"batch_size": 8, "resolutions": (16,), **arguments})
    config = LoaderConfig(batch_size=8, resolutions=(16,))
    with pytest.raises(DataError, match="do not fill one global batch"):
        plan_epoch(7, config, 0)
    with pytest.raises(ConfigError, match="start_step"):
        plan_epoch(200, config, 0, start_step=26)
    with pytest.raises(ConfigError):
        eval_loader(SMALL, 16, 8, rank=1, world_size=1)
    with pytest.raises(ConfigError):
        calibration_loader(SMALL, 16, count=0)


@pytest.mark.skipif(
    not (DEFAULT_ROOT / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"Fashion-MNIST not installed in {DEFAULT_ROOT}",
)
def test_real_fashion_mnist_batches() -> None:
    data = load_fashion_mnist(split="test")
    runs = []
    for workers in (0, 2):
        config = LoaderConfig(batch_size=64, resolutions=(24, 28, 32), seed=0, num_workers=workers)
        loader = train_loader(data, config, epoch=0)
        assert len(loader) == 10000 // 64
        runs.append(list(itertools.islice(loader, 12)))
    assert _same(*runs)
    shapes = {tuple(batch.images.shape) for batch in runs[0]}
    assert shapes <= {(64, 3, r, r) for r in (24, 28, 32)} and len(shapes) > 1
