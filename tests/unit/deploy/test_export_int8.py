"""`--format onnx-int8`: a statically quantized ONNX file that runs without onceforall, checked
against the float model, timed beside it and described in the card."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from tiny_deploy import ARCH, fast_request

from onceforall.cli.main import main
from onceforall.deploy.card import ModelCard
from onceforall.deploy.export import export_subnet
from onceforall.deploy.int8 import accuracy_warning
from onceforall.deploy.int8_config import Int8AccuracyWarning, Int8Request

pytest.importorskip("onnxruntime")

RUN_ALONE = """
import sys, numpy, onnxruntime
session = onnxruntime.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
images = numpy.zeros((3, 3, 20, 20), dtype=numpy.float32)
logits = session.run(None, {"images": images})[0]
assert logits.shape == (3, 4), logits.shape
assert not any(name.startswith("onceforall") for name in sys.modules)
"""


@pytest.fixture(scope="module")
def exported(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ModelCard]:
    out = tmp_path_factory.mktemp("exports") / "int8"
    request = fast_request(
        out,
        source=tiny_run,
        arch=ARCH,
        formats=("onnx", "onnx-int8"),
        int8=Int8Request(calibration_images=40, test_images=24, max_drop=1.0),
    )
    return out, export_subnet(request)


def test_int8_file_is_quantized_and_runs_alone(exported: tuple[Path, ModelCard]) -> None:
    import onnx

    out, _ = exported
    model = out / "model.int8.onnx"
    ops = {node.op_type for node in onnx.load(str(model)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert "BatchNormalization" not in ops  # folded by quant_pre_process
    subprocess.run([sys.executable, "-c", RUN_ALONE, str(model)], check=True, cwd=out)


def test_card_describes_the_int8_model(exported: tuple[Path, ModelCard]) -> None:
    out, card = exported
    data = json.loads((out / "card.json").read_text())
    assert data == card.to_json()
    int8 = data["int8"]
    assert "quantize_static" in int8["method"] and "minmax" in int8["method"]
    assert int8["settings"]["format"] == "QDQ" and int8["settings"]["per_channel"] is True
    assert int8["calibration_images"] == 40 and "training images" in int8["calibration"]
    assert int8["quantize_nodes"] > 0 and int8["dequantize_nodes"] > 0
    assert (int8["test_split"], int8["test_images"]) == ("holdout", 24)
    for name in ("float_onnx_top1", "int8_top1", "top1_agreement"):
        assert 0 <= int8[name] <= 1
    assert int8["top1_drop"] == pytest.approx(int8["float_onnx_top1"] - int8["int8_top1"])
    assert int8["max_abs_logit_diff"] >= int8["mean_abs_logit_diff"] >= 0
    assert int8["standalone_images"] == 16 and int8["standalone_max_abs_diff_vs_pytorch"] >= 0
    assert int8["warning"] is None  # max_drop 1.0 allows any drop
    timings = {(t["backend"], t["batch_size"]) for t in data["latency"]}
    assert timings == {
        (b, n) for b in ("pytorch", "onnxruntime", "onnxruntime-int8") for n in (1, 4)
    }
    assert {f["file"] for f in data["files"]} == {"model.onnx", "model.int8.onnx"}
    assert "## INT8 quantization (onnx-int8)" in (out / "card.md").read_text()


def test_accuracy_warning_above_the_limit_only() -> None:
    assert accuracy_warning(0.01, 0.01, 100, "test") is None  # at the limit: no warning
    assert accuracy_warning(-0.02, 0.0, 100, "test") is None  # INT8 better
    text = accuracy_warning(0.025, 0.01, 1000, "test")
    assert text == "INT8 top-1 is 2.50 pp below float ONNX on 1000 test images (limit 1.00 pp)"


def test_the_export_warns_as_its_card_says(tiny_run: Path, tmp_path: Path) -> None:
    request = fast_request(
        tmp_path / "strict",
        source=tiny_run,
        arch=ARCH,
        formats=("onnx-int8",),  # no exact format: nothing else to verify
        int8=Int8Request(calibration_images=1, test_images=32, max_drop=0.0),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        card = export_subnet(request)
    assert card.int8 is not None and card.verification == ()
    warned = [str(w.message) for w in caught if issubclass(w.category, Int8AccuracyWarning)]
    expected = accuracy_warning(card.int8.top1_drop, 0.0, 32, "holdout")
    assert card.int8.warning == expected
    assert warned == ([] if expected is None else [expected])


@pytest.mark.parametrize(
    "arguments",
    [
        ["export", "RUN", "--arch", ARCH, "--format", "onnx-int8", "--out", "OUT"],
        ["latency", "build", "test_mbv3_tiny", "--backend", "onnxruntime-int8", "--out", "OUT"],
    ],
)
def test_missing_onnxruntime_is_a_one_line_error(
    arguments: list[str],
    tiny_run: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    out = tmp_path / "out"
    replaced = [{"RUN": str(tiny_run), "OUT": str(out)}.get(word, word) for word in arguments]
    assert main(replaced) != 0
    error = capsys.readouterr().err
    assert "onnxruntime" in error and "pip install 'onceforall[deploy]'" in error
    assert error.count("\n") == 1, error
    assert not out.exists()
