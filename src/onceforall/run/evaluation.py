"""Accuracy of sub-networks: BN re-calibration on training images, then the held-out set."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from onceforall.data import ImageSource, calibration_loader, eval_loader
from onceforall.models.supernet import Supernet
from onceforall.nn.bn import recalibrate_bn
from onceforall.nn.inference import (
    activations_in_place,
    fold_batch_norms,
    pointwise_as_matrix_products,
    predicted_classes,
)
from onceforall.nn.memory_format import to_channels_last
from onceforall.run.config import RunConfig
from onceforall.run.datasets import RunData


@dataclass(frozen=True)
class ArchAccuracy:
    arch: str
    accuracy: float  # fraction
    macs: int
    params: int


def default_panel(space: Any, count: int = 3, seed: int = 0) -> list[Any]:
    """min, max and `count` fixed middle sub-networks: the MACs quantiles of 1000 samples."""
    rng = np.random.default_rng([seed, 103])
    population = space.sample_population(1000, rng)
    macs = space.macs_population(population)
    order = np.argsort(macs, kind="stable")
    picks = [order[int(len(order) * q / (count + 1))] for q in range(1, count + 1)]
    return [space.min(), *space.from_population(population[picks]), space.max()]


def labelled_panel(space: Any, arch_texts: Sequence[str] | None = None) -> list[tuple[str, Any]]:
    """(label, arch) pairs: the given arch strings, or min / mid1..3 / max of `default_panel`."""
    if arch_texts:
        return [(text, space.parse(text)) for text in arch_texts]
    archs = default_panel(space)
    labels = ["min", *[f"mid{i}" for i in range(1, len(archs) - 1)], "max"]
    return list(zip(labels, archs, strict=True))


class Evaluator:
    """Evaluates sub-networks of one supernet on fixed calibration and held-out data.

    Calibration images are transformed once per resolution and reused for every sub-network.
    """

    def __init__(
        self,
        calibration_source: ImageSource,
        eval_source: ImageSource,
        *,
        calibration_images: int,
        batch_size: int,
        seed: int,
        device: torch.device,
        channels_last: bool = True,
        calibrate: bool = True,
    ) -> None:
        self.calibration_source = calibration_source
        self.eval_source = eval_source
        self.calibration_images = calibration_images
        self.batch_size = batch_size
        self.seed = seed
        self.device = device
        self.channels_last = channels_last
        self.calibrate = calibrate
        self._calibration: dict[int, list[Tensor]] = {}
        self._eval: dict[int, list[tuple[Tensor, Tensor]]] = {}

    @classmethod
    def for_run(
        cls,
        config: RunConfig,
        data: RunData,
        eval_source: ImageSource | None = None,
        *,
        device: torch.device | None = None,
        channels_last: bool | None = None,
    ) -> Evaluator:
        """An evaluator with a run's calibration set, batch size and seed (default: CPU, the
        held-out split, the run's memory format)."""
        return cls(
            data.train,
            data.holdout if eval_source is None else eval_source,
            calibration_images=config.data.calibration_images,
            batch_size=config.evaluation.batch_size,
            seed=config.seed,
            device=torch.device("cpu") if device is None else device,
            channels_last=config.training.channels_last if channels_last is None else channels_last,
            calibrate=config.evaluation.calibrate_bn,
        )

    def _prepare(self, images: Tensor) -> Tensor:
        images = images.to(self.device)
        return (
            images.contiguous(memory_format=torch.channels_last) if self.channels_last else images
        )

    def calibration_batches(self, resolution: int) -> list[Tensor]:
        if resolution not in self._calibration:
            loader = calibration_loader(
                self.calibration_source,
                resolution,
                count=self.calibration_images,
                batch_size=self.batch_size,
                seed=self.seed,
            )
            self._calibration[resolution] = [self._prepare(b.images) for b in loader]
        return self._calibration[resolution]

    def stream_calibration_batches(self, resolution: int) -> Iterator[Tensor]:
        """The calibration batches at `resolution`: from the cache when there, else transformed
        one batch at a time without keeping them (e.g. for every training resolution)."""
        if resolution in self._calibration:
            yield from self._calibration[resolution]
            return
        for batch in calibration_loader(
            self.calibration_source,
            resolution,
            count=self.calibration_images,
            batch_size=self.batch_size,
            seed=self.seed,
        ):
            yield self._prepare(batch.images)

    def eval_batches(self, resolution: int) -> list[tuple[Tensor, Tensor]]:
        if resolution not in self._eval:
            loader = eval_loader(self.eval_source, resolution, self.batch_size)
            self._eval[resolution] = [(self._prepare(b.images), b.labels) for b in loader]
        return self._eval[resolution]

    @torch.no_grad()
    def accuracy(self, model: nn.Module, resolution: int) -> float:
        model.eval()
        correct = total = 0
        for images, labels in self.eval_batches(resolution):
            predictions = predicted_classes(model, images).cpu()
            correct += int((predictions == labels).sum())
            total += int(labels.numel())
        return correct / max(total, 1)

    def evaluate(self, net: Supernet[Any], arch: Any) -> ArchAccuracy:
        """Static copy of `arch` (the supernet is untouched), re-calibrated, then evaluated; for
        the library's own networks, with activations in place and BNs folded (nn/inference.py)."""
        rewrite = net.static_sequentials_called_whole
        model = net.static(arch).to(self.device)
        if rewrite:
            model = pointwise_as_matrix_products(activations_in_place(model))
        if self.channels_last:
            model = to_channels_last(model)
        if self.calibrate:
            recalibrate_bn(model, self.calibration_batches(arch.resolution))
        model.eval()
        if rewrite:
            model = fold_batch_norms(model)
        return ArchAccuracy(
            arch=str(arch),
            accuracy=self.accuracy(model, arch.resolution),
            macs=net.space.macs(arch),
            params=net.space.params(arch),
        )

    def evaluate_many(self, net: Supernet[Any], archs: Sequence[Any]) -> list[ArchAccuracy]:
        return [self.evaluate(net, arch) for arch in archs]
