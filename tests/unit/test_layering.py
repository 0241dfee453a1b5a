"""Imports point down (ARCHITECTURE.md). arch/ is the bottom layer: its modules import nothing of
onceforall above it, nor torch. run/ (the run folder) sits below everything that trains, reads or
deploys a run. deploy/ reads a run through run/, never through train/. latency/ (a workflow)
imports nothing of the results and interface layers. plots.py imports only the base at run time,
so every layer may draw."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import onceforall

PACKAGE = Path(onceforall.__file__).parent
# the torch-free base: errors, and the memory check that bounds sizes before allocating
ARCH_ALLOWED = ("onceforall.arch", "onceforall.errors", "onceforall.memory_budget")
# what uses a run: none of it may be imported by run/
ABOVE_RUN = ("train", "predict", "search", "deploy", "demo", "cli", "latency")


def imported_modules(path: Path, *, run_time_only: bool = False) -> set[str]:
    """Every module a file imports, at the top or inside functions (`run_time_only`: not those
    under `if TYPE_CHECKING:`)."""
    names: set[str] = set()
    nodes: list[ast.AST] = [ast.parse(path.read_text())]
    while nodes:
        node = nodes.pop()
        names.update(import_names(node))
        typing_only = (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING"
        )
        if not (run_time_only and typing_only):
            nodes.extend(ast.iter_child_nodes(node))
    return names


def import_names(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if isinstance(node, ast.ImportFrom) and node.module is not None:
        return {node.module}
    return set()


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
    [
        ("run", ABOVE_RUN),
        ("deploy", ("train", "cli")),
        ("latency", ("search", "deploy", "demo", "cli")),
        ("search", ("deploy", "demo", "cli")),
        ("demo", ("cli",)),
    ],
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


def test_plots_import_only_the_base_at_run_time() -> None:
    path = PACKAGE / "plots.py"
    run_time = imported_modules(path, run_time_only=True)
    assert {name for name in run_time if name.startswith("onceforall")} == {
        "onceforall.atomic_files"
    }
    assert "torch" not in {name.split(".")[0] for name in run_time}
    at_import = {name for node in ast.parse(path.read_text()).body for name in import_names(node)}
    assert "matplotlib" not in {name.split(".")[0] for name in at_import}  # only inside functions
