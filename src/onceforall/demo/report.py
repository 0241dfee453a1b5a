"""The demo's last steps: export the three picks, then one table, a Pareto plot (plots.py) and a
summary."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from onceforall.atomic_files import atomic_write_text
from onceforall.latency.settings import MeasureSettings
from onceforall.plots import plot_demo_pareto
from onceforall.text_table import format_table


def export_picks(
    out: Path,
    run_dir: Path,
    search_dir: Path,
    settings: MeasureSettings,
    timings: list[Any],
    say: Callable[[str], None],
    progress: bool,
) -> list[dict[str, Any]]:
    """`ofa export` of every searched sub-network (skipped where its model card exists)."""
    from onceforall.demo.pipeline import _step
    from onceforall.deploy.export import export_subnet
    from onceforall.deploy.export_config import ExportRequest

    results = json.loads((search_dir / "search.json").read_text())["results"]
    cards = []
    for index, result in enumerate(results):
        target = out / "export" / f"budget{index + 1}"
        request = ExportRequest(
            out=target,
            source=run_dir,
            arch=result["arch_string"],
            latency_batch_sizes=(1,),
            measure=MeasureSettings(
                backend="torch", threads=settings.threads, warmup=5, repetitions=30, rounds=3
            ),
            command=f"ofa export {run_dir} --arch {result['arch_string']} --out {target}",
            progress=progress,
        )
        _step(
            timings,
            f"export budget {index + 1}",
            (target / "card.json").is_file(),
            functools.partial(export_subnet, request),
            say,
        )
        cards.append(json.loads((target / "card.json").read_text()))
    return cards


def _measured_ms(card: dict[str, Any], backend: str = "pytorch") -> float | None:
    for entry in card["latency"]:
        if entry["backend"] == backend and entry["batch_size"] == 1:
            return float(entry["min_ms"])
    return None


def summary_rows(budgets: Sequence[float], cards: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for budget, card in zip(budgets, cards, strict=True):
        rows.append(
            {
                "budget_ms": budget,
                "arch": card["arch"],
                "predicted_latency_ms": card["predicted_latency_ms"],
                "measured_latency_ms": _measured_ms(card),
                "onnxruntime_latency_ms": _measured_ms(card, "onnxruntime"),
                "predicted_accuracy": card["predicted_accuracy"],
                "measured_accuracy": card["accuracy"],
                "accuracy_split": card["accuracy_split"],
                "macs": card["macs"],
                "params": card["params"],
            }
        )
    return rows


def render_table(rows: Sequence[dict[str, Any]]) -> str:
    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.2f}"

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    return format_table(
        ["budget ms", "pred. ms", "meas. ms", "pred. top-1 %", "test top-1 %", "MMACs", "arch"],
        [
            [
                ms(r["budget_ms"]),
                ms(r["predicted_latency_ms"]),
                ms(r["measured_latency_ms"]),
                pct(r["predicted_accuracy"]),
                pct(r["measured_accuracy"]),
                f"{r['macs'] / 1e6:.2f}",
                r["arch"],
            ]
            for r in rows
        ],
    )


def write_summary(
    out: Path,
    run_dir: Path,
    search_dir: Path,
    budgets: Sequence[float],
    cards: Sequence[dict[str, Any]],
    timings: Sequence[Any],
    start: float,
) -> dict[str, Any]:
    rows = summary_rows(budgets, cards)
    front = json.loads((search_dir / "pareto.json").read_text())
    predictor_report = json.loads((run_dir / "predictor" / "report.json").read_text())
    plot_demo_pareto(out / "pareto.png", front, rows)
    table = render_table(rows)
    seconds = time.perf_counter() - start
    summary = {
        "rows": rows,
        "predictor_held_out": predictor_report.get("held_out", predictor_report),
        "steps": [
            {"step": t.name, "seconds": round(t.seconds, 1), "skipped": t.skipped} for t in timings
        ],
        "seconds": round(seconds, 1),
    }
    atomic_write_text(out / "summary.md", f"```\n{table}\n```\n\nwall time: {seconds:.0f} s\n")
    print(table)
    return summary
