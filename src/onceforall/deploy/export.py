"""`export_subnet`: a sub-network of a trained supernet as deployable files, verified, with a card.

Flow: open the source (run, fine-tuning directory or reference checkpoint) -> check the arch
against the run's space -> export stock modules and re-calibrate BN on the run's calibration
images at the arch's resolution -> measure accuracy (test split when the data set has one, else
held-out) -> write the formats -> run them without onceforall on held-out images and compare
with PyTorch (ExportError beyond tolerance) -> time every backend -> write card.json/card.md.
All of it happens in a staging folder that becomes `--out` only at the end (staging.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import platform
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import torch

from onceforall.data import AugmentConfig, ImageSource, eval_loader
from onceforall.deploy.card import ExportedFile, ModelCard
from onceforall.deploy.export_config import ExportRequest, Format
from onceforall.deploy.exported_latency import measure_exported
from onceforall.deploy.formats import (
    FILES,
    INPUT_NAME,
    ONNX_OPSET,
    OUTPUT_NAME,
    model_file,
    write_formats,
)
from onceforall.deploy.int8 import write_int8
from onceforall.deploy.staging import check_output_dir, staged_directory
from onceforall.deploy.subnet_source import SubnetSource, open_source
from onceforall.deploy.verify import verify_files
from onceforall.errors import ExportError
from onceforall.latency.measure import torch_threads
from onceforall.optional_extras import require
from onceforall.run.calibration import (
    calibrated_copy,
    calibration_count,
    final_split,
    run_evaluator,
)
from onceforall.run.layout import run_latency_table, run_predictor


def verification_images(source: ImageSource, resolution: int, count: int) -> torch.Tensor:
    """The first `count` held-out images at `resolution`, transformed as for evaluation."""
    return next(iter(eval_loader(source, resolution, min(count, len(source))))).images.contiguous()


def preprocessing_text(augment: AugmentConfig, channels: int, resolution: int) -> str:
    steps = [
        "pixels / 255",
        f"images larger than {augment.small_image_max} px: center crop of "
        f"{augment.eval_crop_fraction} of the shorter side",
        f"bilinear resize to {resolution}x{resolution} (antialiased when shrinking)",
    ]
    if channels == 1:
        steps.append("the gray channel repeated 3 times")
    steps.append("(x - mean) / std per channel")
    return "; ".join(steps)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def package_versions() -> dict[str, str]:
    from onceforall import __version__

    versions = {"onceforall": __version__, "torch": str(torch.__version__)}
    for package in ("onnx", "onnxruntime"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    versions["python"] = platform.python_version()
    versions["machine"] = f"{platform.system()} {platform.machine()}"
    return versions


def in_run(
    given: Path | None, source: SubnetSource, find: Callable[[Path], Path | None]
) -> Path | None:
    """`given`, else what `find` finds in the run directory (run/layout.py), as search does."""
    if given is not None or source.run_directory is None:
        return given
    return find(source.run_directory)


def predicted_accuracy(path: Path | None, source: SubnetSource, arch: Any) -> float | None:
    if path is None:
        return None
    from onceforall.predict.accuracy import load_predictor

    space = source.supernet.space
    predictor = load_predictor(path)
    predictor.check_space(space, source.supernet.name)
    return predictor.predict(space, arch)


def predicted_latency(path: Path | None, source: SubnetSource, arch: Any) -> float | None:
    if path is None:
        return None
    from onceforall.latency.load import load_latency_table

    space = source.supernet.space
    return load_latency_table(path, space, source.supernet.name).predict(arch)


def export_subnet(request: ExportRequest) -> ModelCard:
    """Export, verify, time and describe one sub-network into `request.out` (see module doc)."""
    check_output_dir(request.out.absolute())  # before any slow work
    for name in {"onnx", "onnx-int8"} & set(request.formats):
        require(("onnx", "onnxruntime"), f"the {name} format", "deploy", ExportError)
    with staged_directory(request.out) as stage:
        source = open_source(
            request.source, request.reference_checkpoint, request.config, request.config_overrides
        )
        threads = source.config.training.threads
        with torch_threads(threads) if threads else contextlib.nullcontext():
            card = _export(request, source, stage, torch.get_num_threads())
        card.write(stage)
    return card


def _export(request: ExportRequest, source: SubnetSource, stage: Path, threads: int) -> ModelCard:
    config, data = source.config, source.data
    arch = source.resolve_arch(request.arch)
    resolution = int(arch.resolution)
    # Predictions first: a bad predictor or table fails before the slow steps.
    predictor = in_run(request.predictor, source, run_predictor)
    latency_table = in_run(request.latency_table, source, run_latency_table)
    predicted = predicted_accuracy(predictor, source, arch)
    predicted_ms = predicted_latency(latency_table, source, arch)
    calibration = run_evaluator(config, data, data.holdout, channels_last=False)
    module = calibrated_copy(source.network(arch), calibration, resolution)
    split = final_split(config, data)
    accuracy = run_evaluator(config, data, split.source, channels_last=False).accuracy(
        module, resolution
    )
    images = verification_images(data.holdout, resolution, request.verify_images)
    exact = tuple(name for name in request.formats if name != "onnx-int8")
    written = write_formats(module, stage, images[:1], exact)
    files: dict[Format, Path] = {name: stage / model_file(name) for name in request.formats}
    checks = (
        verify_files(
            module, {name: files[name] for name in exact}, images, request.tolerances, threads
        )
        if exact
        else ()
    )
    int8 = None
    if "onnx-int8" in request.formats:
        int8 = write_int8(
            module,
            stage,
            images[:1],
            calibration.calibration_batches(resolution),
            f"training images at {resolution} px, preprocessed as for evaluation: the run's "
            f"seeded BN re-calibration subset (seed {calibration.seed})",
            (split.name, split.source),
            request.int8,
            images,
            threads,
        )
        written += FILES["onnx-int8"]
    latency = measure_exported(
        module,
        {name: path for name, path in files.items() if name != "pytorch"},
        resolution,
        request.latency_batch_sizes,
        request.measure,
        progress=request.progress,
    )
    format_of = {file: name for name, names in FILES.items() for file in names}
    stats = data.train.stats
    return ModelCard(
        supernet=source.supernet.name,
        arch=str(arch),
        resolution=resolution,
        macs=source.supernet.space.macs(arch),
        params=source.supernet.space.params(arch),
        num_classes=source.num_classes,
        class_names=tuple(data.train.class_names),
        input_name=INPUT_NAME,
        input_shape=f"batch x 3 x {resolution} x {resolution} (float32, dynamic batch)",
        output_name=OUTPUT_NAME,
        input_mean=tuple(stats.mean),
        input_std=tuple(stats.std),
        preprocessing=preprocessing_text(data.augment, stats.channels, resolution),
        source_kind=source.kind,
        source=source.location,
        checkpoint=source.checkpoint,
        calibration_images=calibration_count(calibration, resolution),
        accuracy=accuracy,
        accuracy_split=split.name,
        accuracy_images=len(split.source),
        predicted_accuracy=predicted,
        predictor=None if predictor is None else str(predictor.absolute()),
        predicted_latency_ms=predicted_ms,
        latency_table=None if latency_table is None else str(latency_table.absolute()),
        latency_threads=request.measure.threads,
        onnx_opset=ONNX_OPSET if {"onnx", "onnx-int8"} & set(request.formats) else None,
        int8=int8,
        verification=checks,
        latency=latency,
        files=tuple(
            ExportedFile(name, format_of[name], (stage / name).stat().st_size, sha256(stage / name))
            for name in written
        ),
        versions=package_versions(),
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        command=request.command,
    )
