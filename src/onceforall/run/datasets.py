"""The data sets of a run, from its DataConfig: training split, held-out split, class count."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from onceforall.data import (
    AugmentConfig,
    ImageSource,
    load_fashion_mnist,
    make_synthetic,
    open_image_folder,
    split_holdout,
)
from onceforall.errors import ConfigError
from onceforall.run.config import DataConfig


@dataclass(frozen=True)
class RunData:
    train: ImageSource
    holdout: ImageSource
    num_classes: int
    augment: AugmentConfig


def _holdout_size(holdout: float) -> int | float:
    if holdout >= 1:
        if holdout != int(holdout):
            raise ConfigError(f"data.holdout: a count must be an integer, got {holdout}")
        return int(holdout)
    if holdout <= 0:
        raise ConfigError("data.holdout must be > 0 (evaluation never uses the test split)")
    return holdout


def load_source(config: DataConfig, seed: int) -> ImageSource:
    if config.dataset == "fashion_mnist":
        return load_fashion_mnist(Path(config.path) if config.path else None, split="train")
    if config.dataset == "folder":
        if not config.path:
            raise ConfigError("data.path: the image folder to train on is required")
        return open_image_folder(Path(config.path))
    return make_synthetic(
        num_classes=config.synthetic_classes,
        per_class=config.synthetic_per_class,
        size=config.synthetic_size,
        seed=seed,
    )


def load_test_source(config: DataConfig) -> ImageSource:
    """The test split (Fashion-MNIST only): for final reports, never for training decisions."""
    if config.dataset != "fashion_mnist":
        raise ConfigError(f"data set {config.dataset!r} has no separate test split")
    return load_fashion_mnist(Path(config.path) if config.path else None, split="test")


def build_run_data(config: DataConfig, seed: int) -> RunData:
    source = load_source(config, seed)
    train, holdout = split_holdout(source, _holdout_size(config.holdout), seed)
    if config.train_subset is not None:
        if config.train_subset < 1:
            raise ConfigError("data.train_subset must be >= 1")
        order = np.random.default_rng([seed, 104]).permutation(len(train))
        train = train.subset(np.sort(order[: config.train_subset]))
    augment = AugmentConfig(
        flip=config.augment.flip, pad=config.augment.pad, scale=config.augment.scale
    )
    return RunData(train=train, holdout=holdout, num_classes=source.num_classes, augment=augment)
