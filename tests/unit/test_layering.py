"""Imports point down. arch/ is the bottom layer: its modules import nothing of onceforall above
it, nor torch. run/ (the run folder) sits below everything that trains, reads or deploys a run.
deploy/ reads a run through run/, never through train/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import onceforall

PACKAGE = Path(onceforall.__file__).parent
# the torch-free base: errors, and the memory check that bounds sizes before allocating
ARCH_ALLOWED = ("onceforall.arch", "onceforall.errors", "onceforall.memory_budget")
# what uses a run: none of it may be imported by run/
ABOVE_RUN = ("train", "predict", "search", "deploy", "demo", "cli", "efficiency", "latency")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
    return names


def within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == package or name.startswith(f"{package}.") for package in packages)


def test_arch_imports_nothing_above_it() -> None:
    offending = {
        f"{path.name}: {name}"
        for path in sorted((PACKAGE / "arch").glob("*.py"))
        for name in imported_modules(path)
        if (name.startswith("onceforall") and not within(name, ARCH_ALLOWED))
        or name.split(".")[0] == "torch"
    }
    assert not offending, sorted(offending)


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("run", ABOVE_RUN), ("deploy", ("train",))],
)
def test_package_imports_nothing_above_it(package: str, forbidden: tuple[str, ...]) -> None:
    above = tuple(f"onceforall.{name}" for name in forbidden)
    offending = {
        f"{path.name}: {name}"
        for path in sorted((PACKAGE / package).glob("*.py"))
        for name in imported_modules(path)
        if within(name, above)
    }
    assert not offending, sorted(offending)
