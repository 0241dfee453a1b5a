"""Printing helpers shared by the subcommands: JSON and aligned tables."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from onceforall.text_table import format_table

_NUMBER_LIST = re.compile(r"\[\s*(-?[\d.e+]+(?:,\s*-?[\d.e+]+)*)\s*\]")


def format_json(obj: Any) -> str:
    """Indented JSON with lists of numbers kept on one line."""
    text = json.dumps(obj, indent=2)
    return _NUMBER_LIST.sub(lambda m: "[" + ", ".join(re.split(r",\s*", m.group(1))) + "]", text)


def print_json(obj: Any) -> None:
    print(format_json(obj))


def print_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    print(format_table(header, rows))
