"""The model card of an export: one frozen dataclass, written as JSON and as Markdown.

Both renderings walk the dataclass fields, so a field added here appears in both. Field metadata
gives the Markdown label and number format; tuples of dataclasses (verification, latency, files)
become tables of their own, everything else is a row of the summary table.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onceforall.atomic_files import atomic_write_text
from onceforall.deploy.exported_latency import MeasuredLatency
from onceforall.deploy.int8 import Int8Report
from onceforall.deploy.verify import FormatCheck

JSON_FILE = "card.json"
MARKDOWN_FILE = "card.md"


def _meta(label: str, number_format: str | None = None, code: bool = False) -> dict[str, Any]:
    """Markdown rendering of a field: its label, a str.format spec, whether it is code."""
    return {"label": label, "format": number_format, "code": code}


@dataclass(frozen=True)
class ExportedFile:
    file: str
    format: str
    bytes: int
    sha256: str


@dataclass(frozen=True)
class ModelCard:
    supernet: str = field(metadata=_meta("supernet"))
    arch: str = field(metadata=_meta("arch", code=True))
    resolution: int = field(metadata=_meta("resolution (px)"))
    macs: int = field(metadata=_meta("MACs"))
    params: int = field(metadata=_meta("parameters"))
    num_classes: int = field(metadata=_meta("classes"))
    class_names: tuple[str, ...] = field(metadata=_meta("class names"))
    input_name: str = field(metadata=_meta("input"))
    input_shape: str = field(metadata=_meta("input shape"))
    output_name: str = field(metadata=_meta("output"))
    input_mean: tuple[float, ...] = field(metadata=_meta("normalization mean", "{:.4f}"))
    input_std: tuple[float, ...] = field(metadata=_meta("normalization std", "{:.4f}"))
    preprocessing: str = field(metadata=_meta("preprocessing"))
    source_kind: str = field(metadata=_meta("source"))
    source: str = field(metadata=_meta("source path", code=True))
    checkpoint: str = field(metadata=_meta("checkpoint"))
    calibration_images: int = field(metadata=_meta("BN re-calibration images"))
    accuracy: float = field(metadata=_meta("measured top-1", "{:.2%}"))
    accuracy_split: str = field(metadata=_meta("measured on split"))
    accuracy_images: int = field(metadata=_meta("measured on images"))
    predicted_accuracy: float | None = field(
        metadata=_meta("predicted top-1 (supernet weights)", "{:.2%}")
    )
    predictor: str | None = field(metadata=_meta("accuracy predictor"))
    predicted_latency_ms: float | None = field(metadata=_meta("predicted latency (ms)", "{:.3f}"))
    latency_table: str | None = field(metadata=_meta("latency table"))
    latency_threads: int = field(metadata=_meta("latency threads"))
    onnx_opset: int | None = field(metadata=_meta("ONNX opset"))
    int8: Int8Report | None = field(metadata=_meta("INT8 quantization (onnx-int8)"))
    verification: tuple[FormatCheck, ...] = field(metadata=_meta("verification"))
    latency: tuple[MeasuredLatency, ...] = field(metadata=_meta("measured latency (ms/call)"))
    files: tuple[ExportedFile, ...] = field(metadata=_meta("files"))
    versions: Mapping[str, str] = field(metadata=_meta("versions"))
    created: str = field(metadata=_meta("created"))
    command: str = field(metadata=_meta("command", code=True))

    def to_json(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(self)))
        return result

    def to_markdown(self) -> str:
        lines = [f"# Model card: {self.supernet} {self.arch}", "", "| | |", "| --- | --- |"]
        sections: list[str] = []
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            label = item.metadata.get("label", item.name)
            if isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
                sections += ["", f"## {label}", "", *_table(value)]
            elif dataclasses.is_dataclass(value) and not isinstance(value, type):
                rows = [
                    f"| {part.name.replace('_', ' ')} | {_cell(_text(getattr(value, part.name)))} |"
                    for part in dataclasses.fields(value)
                ]
                sections += ["", f"## {label}", "", "| | |", "| --- | --- |", *rows]
            elif isinstance(value, Mapping):
                rows = [f"| {key} | {_cell(str(text))} |" for key, text in value.items()]
                sections += ["", f"## {label}", "", "| | |", "| --- | --- |", *rows]
            else:
                text = _cell(_text(value, item.metadata.get("format")))
                lines.append(f"| {label} | {f'`{text}`' if item.metadata.get('code') else text} |")
        return "\n".join([*lines, *sections]) + "\n"

    def write(self, directory: Path) -> None:
        atomic_write_text(directory / JSON_FILE, json.dumps(self.to_json(), indent=2) + "\n")
        atomic_write_text(directory / MARKDOWN_FILE, self.to_markdown())


def _text(value: Any, number_format: str | None = None) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, tuple):
        return ", ".join(_text(v, number_format) for v in value)
    if isinstance(value, (bool, str)):
        return str(value)
    if number_format is not None:
        return number_format.format(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _cell(text: str) -> str:
    """A Markdown table cell: no pipes or line breaks."""
    return text.replace("|", "\\|").replace("\n", " ")


def _table(rows: tuple[Any, ...]) -> list[str]:
    names = [f.name for f in dataclasses.fields(rows[0])]
    header = "| " + " | ".join(name.replace("_", " ") for name in names) + " |"
    rule = "| " + " | ".join("---" for _ in names) + " |"
    body = ["| " + " | ".join(_cell(_text(getattr(row, n))) for n in names) + " |" for row in rows]
    return [header, rule, *body]
