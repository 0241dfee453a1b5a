"""README's Python quick start runs as written (with the reference data path made absolute)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
SHARED = ROOT.parent / "shared"


def test_python_quick_start_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"## Python quick start\n\n```python\n(.*?)```", readme, re.S)
    assert code is not None
    if not (SHARED / "reference-data").is_dir():
        pytest.skip("the reference data (../shared) is not beside the checkout")
    monkeypatch.chdir(tmp_path)
    source = code.group(1).replace('"reference-data/', f'"{SHARED}/reference-data/')
    exec(compile(source, "README.md", "exec"), {})
    assert (tmp_path / "subnet.pt").is_file()
