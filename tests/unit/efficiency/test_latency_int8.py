"""The onnxruntime-int8 latency backend: quantized operators in tables, whole INT8 networks in
validation (tiny supernet, minimal repetitions)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from onceforall.efficiency.latency import load_latency_table
from onceforall.efficiency.latency_build import BuildConfig, build_latency_table
from onceforall.efficiency.latency_measure import onnx_bytes, quantized_operator
from onceforall.efficiency.latency_settings import MeasureSettings
from onceforall.efficiency.latency_table import read_table
from onceforall.efficiency.latency_validate import ValidateConfig, validate_latency_table
from onceforall.efficiency.onnx_int8 import quantized_op_types
from onceforall.models.registry import supernet_space

pytest.importorskip("onnxruntime")

INT8 = MeasureSettings(backend="onnxruntime-int8", warmup=1, repetitions=2, rounds=1)


def test_an_operator_is_timed_quantized() -> None:
    conv = torch.nn.Sequential(torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU())
    model = quantized_operator(onnx_bytes(conv, torch.randn(1, 8, 12, 12)), (1, 8, 12, 12), 0)
    ops = quantized_op_types(model)
    assert ops.get("QuantizeLinear", 0) >= 1 and ops.get("DequantizeLinear", 0) >= 2
    assert "BatchNormalization" not in ops


def test_int8_table_builds_predicts_and_validates(tmp_path: Path) -> None:
    out = tmp_path / "int8.json"
    config = BuildConfig(
        "test_mbv3_tiny",
        out,
        INT8,
        resolutions=(16,),
        kernel_sizes=(3,),
        expand_ratios=(3,),
        progress=False,
    )
    result = build_latency_table(config)
    assert result.measured == result.operators > 0
    table = read_table(out)
    assert table.metadata["backend"] == "onnxruntime-int8"
    assert table.metadata["quantization"]["format"] == "QDQ"
    assert table.metadata["quantization"]["per_channel"] is True
    assert "onnxruntime" in table.metadata["versions"]
    space = supernet_space("test_mbv3_tiny").restrict(
        resolutions=[16], kernel_sizes=[3], expand_ratios=[3]
    )
    model = load_latency_table(out, space)
    assert model.predict(space.max()) > model.predict(space.min()) > 0
    report = validate_latency_table(ValidateConfig(out, n=3, calibration=3, progress=False))
    assert report.networks == 3
    assert np.isfinite(report.raw.mape_percent) and -1 <= report.raw.kendall_tau <= 1
