"""Atomic file writes: a temporary file in the same folder, then os.replace.

A reader (or a resumed run) sees the old file or the new one, never half of one. Temporaries are
named ``.NAME.tmp-PID``; a process killed mid-write leaves one behind, which
`remove_stale_temporaries` deletes once that process is gone.
"""

from __future__ import annotations

import contextlib
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


def make_folder(folder: Path) -> None:
    """Create `folder` and its parents; OnceForAllError (one line) when a file is in the way."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OnceForAllError(f"cannot create {folder}: {describe_os_error(error)}") from None


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call `write(temporary_path)`, then move the result to `path`.

    An OSError becomes one OnceForAllError naming `path` and the real cause; removing the
    temporary never hides that cause (the folder may not even exist).
    """
    temporary = temporary_name(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(temporary)
        os.replace(temporary, path)
    except OSError as error:
        raise OnceForAllError(f"cannot write {path}: {describe_os_error(error)}") from None
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


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the temporaries in `folder` left by processes that are gone; the paths removed."""
    if not folder.is_dir():
        return []
    removed = []
    for entry in sorted(folder.iterdir()):
        match = _TEMPORARY.match(entry.name)
        if match is None or int(match.group(1)) == os.getpid():
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
