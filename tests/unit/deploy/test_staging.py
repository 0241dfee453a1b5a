"""The staged output folder: all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from onceforall.deploy.staging import staged_directory
from onceforall.errors import ExportError


def test_success_moves_the_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "new" / "deeper" / "out", tmp_path / "empty"):
        with staged_directory(out) as stage:
            assert stage.parent == out.parent and stage.name.startswith(f".{out.name}.tmp-")
            (stage / "file").write_text("x")
        assert (out / "file").read_text() == "x"
        assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".")) == []


def test_failure_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "new" / "deeper" / "out"
    with pytest.raises(RuntimeError, match="boom"), staged_directory(out) as stage:
        (stage / "file").write_text("x")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []  # the parents it created are gone too


def test_refuses_what_exists(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep").write_text("")
    (tmp_path / "a-file").write_text("")
    for out, message in [
        (tmp_path / "full", "already exists and is not empty"),
        (tmp_path / "a-file", "exists and is not a directory"),
        (tmp_path / "a-file" / "out", "a-file: it is not a directory"),
    ]:
        with pytest.raises(ExportError, match=message), staged_directory(out):
            pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "full"]
