"""The onnxruntime-int8 latency backend: quantized operators in tables, whole INT8 networks in
validation (tiny supernet, minimal repetitions)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from onceforall.cli.main import main
from onceforall.families.mbv3_features import FeatureEncoding
from onceforall.latency.build import BuildConfig, build_latency_table
from onceforall.latency.load import load_latency_table
from onceforall.latency.measure import onnx_bytes, quantized_operator
from onceforall.latency.onnx_int8 import quantized_op_types
from onceforall.latency.settings import MeasureSettings
from onceforall.latency.table import read_table
from onceforall.latency.validate import ValidateConfig, validate_latency_table
from onceforall.models.registry import supernet_space
from onceforall.predict.accuracy import AccuracyPredictor, build_mlp

pytest.importorskip("onnxruntime")

INT8 = MeasureSettings(backend="onnxruntime-int8", warmup=1, repetitions=2, rounds=1)


def test_an_operator_is_timed_quantized() -> None:
    conv = torch.nn.Sequential(torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU())
    model = quantized_operator(onnx_bytes(conv, torch.randn(1, 8, 12, 12)), (1, 8, 12, 12), 0)
    ops = quantized_op_types(model)
    assert ops.get("QuantizeLinear", 0) >= 1 and ops.get("DequantizeLinear", 0) >= 2
    assert "BatchNormalization" not in ops


@pytest.fixture(scope="module")
def int8_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole tiny space (107 operators, each quantized), two timed calls per operator."""
    out = tmp_path_factory.mktemp("int8") / "int8.json"
    result = build_latency_table(BuildConfig("test_mbv3_tiny", out, INT8, progress=False))
    assert result.measured == result.operators > 0
    return out


def test_int8_table_predicts_and_validates(int8_table: Path) -> None:
    table = read_table(int8_table)
    assert table.metadata["backend"] == "onnxruntime-int8"
    assert table.metadata["quantization"]["format"] == "QDQ"
    assert table.metadata["quantization"]["per_channel"] is True
    assert "onnxruntime" in table.metadata["versions"]
    space = supernet_space("test_mbv3_tiny")
    model = load_latency_table(int8_table, space)
    assert model.predict(space.max()) > model.predict(space.min()) > 0
    report = validate_latency_table(ValidateConfig(int8_table, n=3, calibration=3, progress=False))
    assert report.networks == 3
    assert np.isfinite(report.raw.mape_percent) and -1 <= report.raw.kendall_tau <= 1
    networks = json.loads(report.path.read_text())["networks"]
    assert len(networks) == 6 and all(len(n["samples_ns"]) == 2 for n in networks.values())


def test_search_with_an_int8_table(int8_table: Path, tmp_path: Path) -> None:
    space = supernet_space("test_mbv3_tiny")
    predictor = tmp_path / "predictor.pt"
    AccuracyPredictor(
        FeatureEncoding.for_space(space), build_mlp(FeatureEncoding.for_space(space).width, [4])
    ).save(predictor)
    model = load_latency_table(int8_table, space)
    budget = (model.predict(space.min()) + model.predict(space.max())) / 2
    out = tmp_path / "search"
    command = ["search", "--supernet", "test_mbv3_tiny", "--predictor", str(predictor)]
    command += ["--latency-table", str(int8_table), "--max-latency-ms", str(budget)]
    assert (
        main([*command, "--population", "20", "--generations", "3", "--quiet", "--out", str(out)])
        == 0
    )
    (result,) = json.loads((out / "search.json").read_text())["results"]
    assert result["latency_ms"] <= budget
    assert result["latency_ms"] == pytest.approx(model.predict(space.parse(result["arch_string"])))
