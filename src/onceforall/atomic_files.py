"""Atomic file writes: a temporary file in the same folder, then os.replace.

A reader (or a resumed run) sees the old file or the new one, never half of one. Temporaries are
named ``.NAME.tmp-PID``; a process killed mid-write leaves one behind, which the next write of
NAME (or `remove_stale_temporaries`, e.g. when a run resumes) deletes once that process is gone.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from onceforall.errors import OnceForAllError

# `.NAME.tmp-PID` (files) or `.NAME.tmp-PID-RANDOM` (staging folders made by tempfile.mkdtemp)
_TEMPORARY = re.compile(r"^\..+\.tmp-(\d+)(?:-[^/]*)?$")


def temporary_name(path: Path) -> Path:
    """Where `atomic_write` writes before the rename (this process's own name)."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def describe_os_error(error: OSError) -> str:
    """`Not a directory: /run/file` from an OSError (no errno, no traceback)."""
    reason = error.strerror or str(error)
    return f"{reason}: {error.filename}" if error.filename else reason


def _why(path: Path, error: OSError) -> str:
    """The cause of a failed write, naming a file that stands where a folder should be."""
    for folder in path.parents:
        if folder.exists():
            if not folder.is_dir():
                return f"{folder} is a file, not a folder"
            break
    if path.is_dir():
        return f"{path} is a folder"
    return describe_os_error(error)


def check_output_folder(folder: Path, error: type[OnceForAllError] = OnceForAllError) -> None:
    """`error` when `folder` cannot become an output folder (it, or a parent, is a file)."""
    if folder.exists() and not folder.is_dir():
        raise error(f"{folder} exists and is not a folder; choose another --out")
    for parent in folder.parents:
        if parent.exists():
            if not parent.is_dir():
                raise error(f"cannot write into {folder}: {parent} is a file, not a folder")
            return


def make_folder(folder: Path) -> None:
    """Create `folder` and its parents; OnceForAllError (one line) when a file is in the way."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OnceForAllError(f"cannot create {folder}: {_why(folder / '_', error)}") from None


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call `write(temporary_path)`, then move the result to `path`.

    An OSError becomes one OnceForAllError naming `path` and the real cause; removing the
    temporary never hides that cause (the folder may not even exist).
    """
    temporary = temporary_name(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path.parent, path.name)  # of this file, by killed writers
        write(temporary)
        os.replace(temporary, path)
    except OSError as error:
        raise OnceForAllError(f"cannot write {path}: {_why(path, error)}") from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda temporary: temporary.write_text(text))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")


def atomic_torch_save(obj: Any, path: Path) -> None:
    import torch

    atomic_write(path, lambda temporary: torch.save(obj, temporary))


def process_alive(pid: int) -> bool:
    """Whether a process `pid` runs on this machine (a process of another user counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(folder: Path, name: str | None = None) -> list[Path]:
    """Delete the temporaries in `folder` (of file `name` only, if given) left by processes that
    are gone; the paths removed."""
    if not folder.is_dir():
        return []
    removed = []
    pattern = f".{glob.escape(name)}.tmp-*" if name is not None else ".*.tmp-*"
    for entry in sorted(folder.glob(pattern)):
        match = _TEMPORARY.match(entry.name)
        if match is None or int(match.group(1)) == os.getpid():
            continue
        if name is not None and not entry.name.startswith(f".{name}.tmp-"):
            continue
        if process_alive(int(match.group(1))):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry)
    return removed
