"""Fitting an accuracy predictor on measured sub-networks (deterministic per seed).

Schedule: AdamW (`learning_rate`, `weight_decay`), the learning rate decaying along a cosine from
its initial value to 0 over `max_epochs` (stepped per batch); mean squared error on standardized
accuracies. A `validation_fraction` of the records is held out of the gradient steps; after every
epoch the validation RMSE is measured, training stops after `patience` epochs without improvement,
and the best epoch's weights are kept. The standardization is folded into the last layer at the
end, so the saved network maps features straight to accuracy fractions (like the released one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from onceforall.arch.space import Space
from onceforall.errors import PredictorError
from onceforall.families.family import FeatureEncoding
from onceforall.families.registry import family_of
from onceforall.predict.accuracy import AccuracyPredictor, build_mlp
from onceforall.predict.fit_config import FitConfig
from onceforall.predict.records import AccuracyRecords


@dataclass(frozen=True)
class EpochStats:
    epoch: int
    train_rmse_pp: float  # percentage points, on the training rows (running mean over the epoch)
    validation_rmse_pp: float
    learning_rate: float


@dataclass(frozen=True, eq=False)
class FitResult:
    predictor: AccuracyPredictor
    history: tuple[EpochStats, ...]
    best_epoch: int
    train_size: int
    validation_size: int


def split_rows(n: int, fraction: float, seed: int, stream: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random split of range(n): (the rest, a `fraction` of the rows, at least 1)."""
    if n < 2:
        raise PredictorError(f"need at least 2 records to split, got {n}")
    order = np.random.default_rng([seed, stream]).permutation(n)
    held = min(n - 1, max(1, round(n * fraction)))
    return np.sort(order[held:]), np.sort(order[:held])


def fit_predictor(
    space: Space[Any],
    records: AccuracyRecords,
    config: FitConfig = FitConfig(),
    *,
    supernet: str | None = None,
    encoding: FeatureEncoding | None = None,
    progress: bool = True,
) -> FitResult:
    """An MLP predictor for `space` fitted on `records` (the paper's encoding unless given)."""
    encoding = family_of(space).feature_encoding(space) if encoding is None else encoding
    encoding.check_space(space)
    if len(records) < 4:
        raise PredictorError(f"need at least 4 records to fit a predictor, got {len(records)}")
    train_rows, validation_rows = split_rows(
        len(records), config.validation_fraction, config.seed, 1
    )
    features = torch.from_numpy(encoding.encode(space, records.population))
    target = torch.from_numpy(records.accuracy.astype(np.float32))
    mean = float(target[train_rows].mean())
    std = max(float(target[train_rows].std(correction=0)), 1e-4)
    x_train, y_train = features[train_rows], (target[train_rows] - mean) / std
    x_val, y_val = features[validation_rows], target[validation_rows]

    generator = torch.Generator().manual_seed(config.seed)
    network = build_mlp(encoding.width, config.hidden_sizes, generator)
    optimizer = torch.optim.AdamW(
        network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    steps_per_epoch = math.ceil(len(train_rows) / config.batch_size)
    total_steps = config.max_epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps)),
    )
    best = (math.inf, 0, _snapshot(network))
    history: list[EpochStats] = []
    bar = tqdm(range(1, config.max_epochs + 1), desc="fit predictor", disable=not progress)
    for epoch in bar:
        network.train()
        order = torch.randperm(len(train_rows), generator=generator)
        squared = 0.0
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            loss = nn.functional.mse_loss(network(x_train[batch])[:, 0], y_train[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            squared += float(loss.detach()) * len(batch)
        network.eval()
        with torch.no_grad():
            predicted = network(x_val)[:, 0] * std + mean
        validation_rmse = 100.0 * float(torch.sqrt(torch.mean((predicted - y_val) ** 2)))
        history.append(
            EpochStats(
                epoch=epoch,
                train_rmse_pp=100.0 * std * math.sqrt(squared / len(train_rows)),
                validation_rmse_pp=validation_rmse,
                learning_rate=optimizer.param_groups[0]["lr"],
            )
        )
        bar.set_postfix(val_rmse_pp=f"{validation_rmse:.3f}")
        if validation_rmse < best[0]:
            best = (validation_rmse, epoch, _snapshot(network))
        elif epoch - best[1] >= config.patience:
            break
    network.load_state_dict(best[2])
    _fold_standardization(network, mean, std)
    info = {
        "fit": {
            "hidden_sizes": list(config.hidden_sizes),
            "max_epochs": config.max_epochs,
            "batch_size": config.batch_size,
            "learning_rate": config.learning_rate,
            "weight_decay": config.weight_decay,
            "validation_fraction": config.validation_fraction,
            "patience": config.patience,
            "seed": config.seed,
            "best_epoch": best[1],
            "best_validation_rmse_pp": best[0],
            "train_size": len(train_rows),
            "validation_size": len(validation_rows),
        }
    }
    predictor = AccuracyPredictor(encoding, network, supernet=supernet, info=info)
    return FitResult(predictor, tuple(history), best[1], len(train_rows), len(validation_rows))


def _snapshot(network: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in network.state_dict().items()}


@torch.no_grad()
def _fold_standardization(network: nn.Sequential, mean: float, std: float) -> None:
    """Make the last layer output `std * y + mean`, i.e. accuracies instead of standard scores."""
    last = network[-1]
    assert isinstance(last, nn.Linear)
    last.weight.mul_(std)
    last.bias.mul_(std).add_(mean)
