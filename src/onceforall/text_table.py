"""Aligned plain-text tables, for the CLI and for reports written by the results layer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any


def format_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Numbers right-aligned, text left-aligned."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    numeric = [
        all(isinstance(row[i], (int, float)) or _looks_numeric(str(row[i])) for row in rows)
        for i in range(len(header))
    ]
    lines = []
    for index, row in enumerate(cells):
        lines.append(
            "  ".join(
                (cell.rjust(width) if is_number else cell.ljust(width))
                for cell, width, is_number in zip(row, widths, numeric, strict=True)
            ).rstrip()
        )
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _looks_numeric(text: str) -> bool:
    return bool(re.fullmatch(r"[-+]?[\d,]*\.?\d+(e[-+]?\d+)?%?", text))
