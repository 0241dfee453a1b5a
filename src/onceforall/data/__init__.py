"""Data for training and evaluating supernets: data sets, augmentation, multi-resolution loaders.

In-memory sets (``ImageDataset``: Fashion-MNIST, synthetic) and lazily decoded folders
(``ImageFolder``) share one loader API; see loader.py for how batches are planned and made.
"""

from __future__ import annotations

from onceforall.data.dataset import IMAGENET_STATS, DatasetStats, ImageDataset
from onceforall.data.fashion_mnist import load_fashion_mnist, read_idx, write_idx
from onceforall.data.folder import ImageFolder, open_image_folder
from onceforall.data.holdout import holdout_indices, split_holdout
from onceforall.data.loader import (
    Batch,
    BatchPlan,
    ImageSource,
    LoaderConfig,
    calibration_loader,
    eval_loader,
    plan_epoch,
    steps_per_epoch,
    train_loader,
)
from onceforall.data.synthetic import make_synthetic
from onceforall.data.transforms import AugmentConfig, eval_transform, train_transform

__all__ = [
    "IMAGENET_STATS",
    "AugmentConfig",
    "Batch",
    "BatchPlan",
    "DatasetStats",
    "ImageDataset",
    "ImageFolder",
    "ImageSource",
    "LoaderConfig",
    "calibration_loader",
    "eval_loader",
    "eval_transform",
    "holdout_indices",
    "load_fashion_mnist",
    "make_synthetic",
    "open_image_folder",
    "plan_epoch",
    "read_idx",
    "split_holdout",
    "steps_per_epoch",
    "train_loader",
    "train_transform",
    "write_idx",
]
