"""INT8 static quantization of an ONNX model with ONNX Runtime, the way export and tables share.

`quantize_onnx` follows ONNX Runtime's documented recipe: `quant_pre_process` first (symbolic
shape inference and graph optimization, which folds batch norm into convolutions and so leaves
fewer tensors to quantize), then `quantize_static` with a calibration data reader: QDQ format
(QuantizeLinear/DequantizeLinear pairs that ONNX Runtime fuses into integer kernels at session
creation), weights quantized per output channel. Export calibrates on the run's training
images at the arch's resolution; latency tables calibrate on seeded random inputs (the values
set the scales, not the work the kernels do).

Nothing here is hand-written quantization: the settings below are handed to ONNX Runtime.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from onceforall.errors import OnceForAllError
from onceforall.optional_extras import require

CalibrationMethod = Literal["minmax", "entropy", "percentile"]
CALIBRATION_METHODS: tuple[CalibrationMethod, ...] = ("minmax", "entropy", "percentile")
QuantType = Literal["int8", "uint8"]


@dataclass(frozen=True)
class Int8Settings:
    """How ONNX Runtime quantizes: one value shared by export and the INT8 latency backend."""

    calibration_method: CalibrationMethod = "minmax"
    per_channel: bool = True  # weights: one scale per output channel
    # uint8 activations with int8 weights (U8S8): on x86 ONNX Runtime then fuses every Q/DQ pair
    # into QLinearConv / QLinearMul / QLinearAdd. With int8 activations (S8S8, quantize_static's
    # default) it left 25 of 47 convolutions of the small-input min network in float between
    # Q/DQ and Transpose nodes: 9.9 ms vs 1.4 ms (U8S8) and 1.7 ms (float) at batch 1, 1 thread
    # (medians of 7 interleaved rounds of 20 calls, ORT 1.32, loaded 2-core x86 machine).
    activation_type: QuantType = "uint8"
    weight_type: QuantType = "int8"
    preprocess: bool = True  # onnxruntime.quantization.quant_pre_process first

    def __post_init__(self) -> None:
        if self.calibration_method not in CALIBRATION_METHODS:
            raise OnceForAllError(
                f"calibration method {self.calibration_method!r} is not one of "
                f"{', '.join(CALIBRATION_METHODS)}"
            )
        for name in ("activation_type", "weight_type"):
            if getattr(self, name) not in ("int8", "uint8"):
                raise OnceForAllError(f"{name} must be int8 or uint8, got {getattr(self, name)!r}")

    def describe(self) -> str:
        """One line for model cards and table metadata."""
        steps = "quant_pre_process, then " if self.preprocess else ""
        channel = "per-channel" if self.per_channel else "per-tensor"
        return (
            f"ONNX Runtime static quantization: {steps}quantize_static, QDQ format, "
            f"{channel} {self.weight_type} weights, {self.activation_type} activations, "
            f"{self.calibration_method} calibration"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "calibration_method": self.calibration_method,
            "per_channel": self.per_channel,
            "activation_type": self.activation_type,
            "weight_type": self.weight_type,
            "preprocess": self.preprocess,
            "format": "QDQ",
        }


def _quantization() -> Any:
    require(("onnx", "onnxruntime"), "INT8 quantization", "deploy", OnceForAllError)
    import onnxruntime.quantization as quantization

    return quantization


def calibration_reader(input_name: str, batches: Iterable[np.ndarray]) -> Any:
    """An onnxruntime CalibrationDataReader feeding `batches` (float32) to `input_name`."""
    base: Any = _quantization().CalibrationDataReader

    class Reader(base):
        def __init__(self) -> None:
            self._batches: Iterator[np.ndarray] = iter(batches)

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self._batches, None)
            if batch is None:
                return None
            return {input_name: np.ascontiguousarray(batch, dtype=np.float32)}

    return Reader()


def quantize_onnx(
    model: Path,
    out: Path,
    batches: Iterable[np.ndarray],
    settings: Int8Settings,
) -> None:
    """Quantize the float ONNX file `model` into `out`, calibrating on `batches` of its input."""
    import onnx

    quantization = _quantization()
    types = {"int8": quantization.QuantType.QInt8, "uint8": quantization.QuantType.QUInt8}
    methods = {
        "minmax": quantization.CalibrationMethod.MinMax,
        "entropy": quantization.CalibrationMethod.Entropy,
        "percentile": quantization.CalibrationMethod.Percentile,
    }
    input_name = onnx.load(str(model), load_external_data=False).graph.input[0].name
    with tempfile.TemporaryDirectory(prefix="onceforall-int8-") as work:
        source = model
        if settings.preprocess:
            source = Path(work) / "preprocessed.onnx"
            quantization.quant_pre_process(str(model), str(source))
        root = logging.getLogger()  # quantize_static logs every tensor at INFO on the root
        level = root.level
        root.setLevel(max(level, logging.WARNING))
        try:
            quantization.quantize_static(
                str(source),
                str(out),
                calibration_reader(input_name, batches),
                quant_format=quantization.QuantFormat.QDQ,
                per_channel=settings.per_channel,
                activation_type=types[settings.activation_type],
                weight_type=types[settings.weight_type],
                calibrate_method=methods[settings.calibration_method],
                calibration_providers=["CPUExecutionProvider"],
            )
        finally:
            root.setLevel(level)


def quantize_onnx_bytes(
    model: bytes, batches: Iterable[np.ndarray], settings: Int8Settings
) -> bytes:
    """`quantize_onnx` of an in-memory model (latency tables: one small model per operator)."""
    with tempfile.TemporaryDirectory(prefix="onceforall-int8-") as work:
        source, out = Path(work) / "float.onnx", Path(work) / "int8.onnx"
        source.write_bytes(model)
        quantize_onnx(source, out, batches, settings)
        return out.read_bytes()


def quantized_op_types(path_or_bytes: Path | bytes) -> dict[str, int]:
    """How many nodes of each op type an ONNX model has (a quantized one has Q/DQ nodes)."""
    import onnx

    model = (
        onnx.load_from_string(path_or_bytes)
        if isinstance(path_or_bytes, bytes)
        else onnx.load(str(path_or_bytes))
    )
    counts: dict[str, int] = {}
    for node in model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts
