"""arch/ is the bottom layer: its modules import nothing of onceforall above it, nor torch."""

from __future__ import annotations

import ast
from pathlib import Path

import onceforall.arch

ARCH = Path(onceforall.arch.__file__).parent
# the torch-free base: errors, and the memory check that bounds sizes before allocating
ALLOWED = ("onceforall.arch", "onceforall.errors", "onceforall.memory_budget")


def imported_modules(path: Path) -> set[str]:
    """Every module an arch file imports, at the top or inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
    return names


def test_arch_imports_nothing_above_it() -> None:
    offending = {
        f"{path.name}: {name}"
        for path in sorted(ARCH.glob("*.py"))
        for name in imported_modules(path)
        if (name.startswith("onceforall") and not name.startswith(ALLOWED))
        or name.split(".")[0] == "torch"
    }
    assert not offending, sorted(offending)
