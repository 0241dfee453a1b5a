"""The model card: one dataclass, every field in both the JSON and the Markdown rendering."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from onceforall.deploy.card import ExportedFile, ModelCard
from onceforall.deploy.exported_latency import MeasuredLatency
from onceforall.deploy.int8 import Int8Report
from onceforall.deploy.verify import FormatCheck


def sample_card(**changes: object) -> ModelCard:
    card = ModelCard(
        supernet="test_mbv3_tiny",
        arch="r20-k3e3_k3e3-k3e3_k3e3-k3e3_k3e3",
        resolution=20,
        macs=1234567,
        params=3456,
        num_classes=2,
        class_names=("a|b", "c"),
        input_name="images",
        input_shape="batch x 3 x 20 x 20",
        output_name="logits",
        input_mean=(0.5,),
        input_std=(0.25,),
        preprocessing="pixels / 255",
        source_kind="supernet run",
        source="/runs/x",
        checkpoint="complete",
        calibration_images=64,
        accuracy=0.8125,
        accuracy_split="holdout",
        accuracy_images=32,
        predicted_accuracy=None,
        predictor=None,
        predicted_latency_ms=1.5,
        latency_table="table.json",
        latency_threads=1,
        onnx_opset=17,
        int8=None,
        verification=(FormatCheck("onnx", 2.5e-7, 1e-4, 16),),
        latency=(MeasuredLatency("pytorch", 1, 2.0, 0.1, 1.9, 30),),
        files=(ExportedFile("model.onnx", "onnx", 1000, "ab" * 32),),
        versions={"torch": "2.13.0"},
        created="2026-01-01T00:00:00+0000",
        command="ofa export /runs/x --arch r20-...",
    )
    return dataclasses.replace(card, **changes)  # type: ignore[arg-type]


def test_json_has_every_field(tmp_path: Path) -> None:
    card = sample_card()
    card.write(tmp_path)
    data = json.loads((tmp_path / "card.json").read_text())
    assert list(data) == [f.name for f in dataclasses.fields(ModelCard)]
    assert data["verification"] == [
        {"format": "onnx", "max_abs_diff": 2.5e-7, "tolerance": 1e-4, "images": 16}
    ]
    assert data["class_names"] == ["a|b", "c"] and data["predicted_accuracy"] is None
    assert (tmp_path / "card.md").read_text() == card.to_markdown()


def test_markdown_has_every_field() -> None:
    text = sample_card().to_markdown()
    for item in dataclasses.fields(ModelCard):
        assert item.metadata["label"] in text, item.name
    lines = text.splitlines()
    assert lines[0] == "# Model card: test_mbv3_tiny r20-k3e3_k3e3-k3e3_k3e3-k3e3_k3e3"
    assert "| measured top-1 | 81.25% |" in lines
    assert "| MACs | 1,234,567 |" in lines
    assert "| predicted top-1 (supernet weights) | n/a |" in lines
    assert "| predicted latency (ms) | 1.500 |" in lines
    assert "| class names | a\\|b, c |" in lines  # pipes escaped inside cells
    assert "| arch | `r20-k3e3_k3e3-k3e3_k3e3-k3e3_k3e3` |" in lines
    assert "| onnx | 2.5e-07 | 0.0001 | 16 |" in lines
    assert "| backend | batch size | median ms | iqr ms | min ms | calls |" in lines
    assert "| torch | 2.13.0 |" in lines


def test_empty_tables_are_rows() -> None:
    """A card without timings (no backend measured) still renders every field."""
    text = sample_card(latency=()).to_markdown()
    assert "| measured latency (ms/call) |  |" in text.splitlines()


def test_int8_section() -> None:
    report = Int8Report(
        method="ONNX Runtime static quantization",
        settings={"format": "QDQ"},
        calibration="training images",
        calibration_images=256,
        quantize_nodes=10,
        dequantize_nodes=20,
        test_split="test",
        test_images=1000,
        float_onnx_top1=0.9,
        int8_top1=0.885,
        top1_drop=0.015,
        max_drop=0.01,
        top1_agreement=0.97,
        max_abs_logit_diff=0.5,
        mean_abs_logit_diff=0.05,
        standalone_images=16,
        standalone_max_abs_diff_vs_pytorch=0.4,
        warning="INT8 top-1 is 1.50 pp below",
    )
    card = sample_card(int8=report)
    lines = card.to_markdown().splitlines()
    assert "## INT8 quantization (onnx-int8)" in lines
    assert "| calibration images | 256 |" in lines and "| int8 top1 | 0.885 |" in lines
    assert card.to_json()["int8"]["settings"] == {"format": "QDQ"}
    assert "| INT8 quantization (onnx-int8) | n/a |" in sample_card().to_markdown().splitlines()
