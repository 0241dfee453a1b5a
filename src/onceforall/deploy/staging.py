"""An output directory that appears whole or not at all.

Everything is written into a hidden sibling folder (`.OUT.tmp-PID-RANDOM`; one left by a killed
export is removed by the next export to OUT), which replaces `out` (os.replace: one rename
on the same file system) only when the block succeeds. On failure the folder is removed, and so
are the parent folders this created, so a failed export leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from onceforall.atomic_files import remove_stale_temporaries
from onceforall.errors import ExportError


def check_output_dir(out: Path) -> None:
    """ExportError when `out` exists and is not an empty directory."""
    if out.is_dir():
        if any(out.iterdir()):
            raise ExportError(f"{out} already exists and is not empty; choose another --out")
    elif out.exists():
        raise ExportError(f"{out} exists and is not a directory")


def _make_parents(directory: Path) -> list[Path]:
    """Create `directory` and missing ancestors; the ones created, deepest first."""
    missing = []
    for folder in (directory, *directory.parents):
        if folder.exists():
            if not folder.is_dir():
                raise ExportError(f"cannot write into {folder}: it is not a directory")
            break
        missing.append(folder)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"cannot create {directory}: {error.strerror or error}") from None
    return missing


@contextmanager
def staged_directory(out: Path) -> Iterator[Path]:
    """A fresh folder to write into; it becomes `out` when the block succeeds."""
    out = out.absolute()
    check_output_dir(out)
    created = _make_parents(out.parent)
    remove_stale_temporaries(out.parent, out.name)  # staging folders of killed exports
    try:
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
    except OSError as error:
        _remove_empty(created)
        raise ExportError(f"cannot write to {out.parent}: {error.strerror or error}") from None
    success = False
    try:
        yield stage
        check_output_dir(out)  # nothing appeared there meanwhile
        os.chmod(stage, 0o755)  # mkdtemp makes it private; an export is an ordinary folder
        if out.is_dir():
            out.rmdir()
        os.replace(stage, out)
        success = True
    except OSError as error:
        raise ExportError(f"cannot write {out}: {error.strerror or error}") from None
    finally:
        if not success:
            shutil.rmtree(stage, ignore_errors=True)
            _remove_empty(created)


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return
