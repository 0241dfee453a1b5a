"""The `onnx-int8` format: the float ONNX model statically quantized by ONNX Runtime, checked.

`write_int8` exports the float ONNX model (formats.py's exporter) into a temporary folder,
quantizes it with latency/onnx_int8.py (quant_pre_process, then quantize_static: QDQ,
per-channel weights), calibrating on the run's BN re-calibration images (a seeded subset of the
training split) at the arch's resolution, and writes `model.int8.onnx`. It then measures what
quantization cost: top-1 of the float and the INT8 ONNX models on the same evaluation images
(a warning above `max_drop`), and how far the INT8 logits are from the float ones.
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from onceforall.data import ImageSource, eval_loader
from onceforall.deploy.formats import model_file, write_onnx
from onceforall.deploy.int8_config import Int8AccuracyWarning, Int8Request
from onceforall.deploy.verify import standalone_outputs
from onceforall.errors import ExportError
from onceforall.latency.onnx_int8 import quantize_onnx, quantized_op_types

EVAL_BATCH = 200  # images per ONNX Runtime call when measuring top-1


@dataclass(frozen=True)
class Int8Report:
    """The card's INT8 section: how it was quantized and what it cost."""

    method: str
    settings: dict[str, Any]
    calibration: str  # where the calibration images came from
    calibration_images: int
    quantize_nodes: int  # QuantizeLinear nodes in the file
    dequantize_nodes: int
    test_split: str
    test_images: int
    float_onnx_top1: float
    int8_top1: float
    top1_drop: float  # float - INT8, a fraction
    max_drop: float
    top1_agreement: float  # images on which INT8 and float ONNX pick the same class
    max_abs_logit_diff: float  # INT8 vs float ONNX over the test images
    mean_abs_logit_diff: float
    standalone_images: int  # run in a process without onceforall (verify.py)
    standalone_max_abs_diff_vs_pytorch: float
    warning: str | None


def calibration_arrays(batches: list[torch.Tensor], count: int) -> list[np.ndarray]:
    """The first `count` images of `batches` as float32 arrays, in batches as given."""
    arrays, taken = [], 0
    for batch in batches:
        if taken >= count:
            break
        part = batch[: count - taken]
        arrays.append(part.contiguous().numpy().astype(np.float32))
        taken += int(part.shape[0])
    if not arrays:
        raise ExportError("no calibration images for INT8 quantization")
    return arrays


def _session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _logits(session: Any, images: np.ndarray) -> np.ndarray:
    name = session.get_inputs()[0].name
    return np.asarray(session.run(None, {name: images})[0], dtype=np.float64)


def compare_on_images(
    float_model: Path,
    int8_model: Path,
    source: ImageSource,
    resolution: int,
    count: int,
    threads: int,
) -> dict[str, float]:
    """Top-1 of both models, their class agreement and logit differences on `count` images."""
    float_session, int8_session = _session(float_model, threads), _session(int8_model, threads)
    float_correct = int8_correct = agree = seen = 0
    max_diff, sum_diff, values = 0.0, 0.0, 0
    for batch in eval_loader(source, resolution, EVAL_BATCH):
        images = batch.images[: count - seen].contiguous().numpy().astype(np.float32)
        labels = batch.labels[: count - seen].numpy()
        reference, quantized = _logits(float_session, images), _logits(int8_session, images)
        float_pick, int8_pick = reference.argmax(axis=1), quantized.argmax(axis=1)
        float_correct += int((float_pick == labels).sum())
        int8_correct += int((int8_pick == labels).sum())
        agree += int((float_pick == int8_pick).sum())
        difference = np.abs(quantized - reference)
        max_diff = max(max_diff, float(difference.max()))
        sum_diff, values = sum_diff + float(difference.sum()), values + difference.size
        seen += len(labels)
        if seen >= count:
            break
    return {
        "images": seen,
        "float_top1": float_correct / seen,
        "int8_top1": int8_correct / seen,
        "agreement": agree / seen,
        "max_abs_diff": max_diff,
        "mean_abs_diff": sum_diff / values,
    }


def accuracy_warning(drop: float, max_drop: float, images: int, split: str) -> str | None:
    """The warning when INT8 top-1 is more than `max_drop` below float (fractions), else None."""
    if not drop > max_drop:
        return None
    return (
        f"INT8 top-1 is {100 * drop:.2f} pp below float ONNX on {images} {split} images "
        f"(limit {100 * max_drop:.2f} pp)"
    )


def write_int8(
    module: torch.fx.GraphModule,
    stage: Path,
    example: torch.Tensor,
    calibration_batches: list[torch.Tensor],
    calibration_description: str,
    test: tuple[str, ImageSource],
    request: Int8Request,
    verify_images: torch.Tensor,
    threads: int,
) -> Int8Report:
    """Quantize `module` into `stage/model.int8.onnx` and measure it against its float ONNX;
    run it without onceforall on `verify_images` (verify.py) and compare with PyTorch."""
    resolution = int(example.shape[-1])
    arrays = calibration_arrays(calibration_batches, request.calibration_images)
    out = stage / model_file("onnx-int8")
    with tempfile.TemporaryDirectory(prefix="onceforall-int8-export-") as work:
        write_onnx(module, Path(work), example)
        float_model = Path(work) / model_file("onnx")
        try:
            quantize_onnx(float_model, out, arrays, request.settings)
        except Exception as error:  # ONNX Runtime raises many types; name the step that failed
            raise ExportError(f"ONNX Runtime could not quantize the model: {error}") from None
        split, source = test
        compared = compare_on_images(
            float_model, out, source, resolution, request.test_images, threads
        )
    ops = quantized_op_types(out)
    standalone = standalone_outputs({"onnx-int8": out}, verify_images, threads)["onnx-int8"]
    with torch.no_grad():
        reference = module.eval()(verify_images)
    standalone_diff = float((standalone.double() - reference.double()).abs().max())
    drop = compared["float_top1"] - compared["int8_top1"]
    warning = accuracy_warning(drop, request.max_drop, int(compared["images"]), split)
    if warning is not None:
        warnings.warn(warning, Int8AccuracyWarning, stacklevel=2)
    return Int8Report(
        method=request.settings.describe(),
        settings=request.settings.to_json(),
        calibration=calibration_description,
        calibration_images=sum(int(a.shape[0]) for a in arrays),
        quantize_nodes=ops.get("QuantizeLinear", 0),
        dequantize_nodes=ops.get("DequantizeLinear", 0),
        test_split=split,
        test_images=int(compared["images"]),
        float_onnx_top1=compared["float_top1"],
        int8_top1=compared["int8_top1"],
        top1_drop=drop,
        max_drop=request.max_drop,
        top1_agreement=compared["agreement"],
        max_abs_logit_diff=compared["max_abs_diff"],
        mean_abs_logit_diff=compared["mean_abs_diff"],
        standalone_images=int(verify_images.shape[0]),
        standalone_max_abs_diff_vs_pytorch=standalone_diff,
        warning=warning,
    )
