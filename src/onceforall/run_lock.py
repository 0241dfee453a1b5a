"""One process at a time in an output folder: an advisory lock file, RUN/.lock.

The file holds the owner's pid and host (JSON) and is held with `fcntl.flock`, which the kernel
releases when the owner dies, however it dies. A second process finds the lock held and stops
with a one-line RunLockedError naming the owner. A lock file left by a crashed process on this
host (flock free, pid gone) is stale: it is taken over, with a message. A lock file naming
another host cannot be checked from here and is refused (delete it once that run is gone).

    with run_lock(run_dir):
        ...  # train, write checkpoints
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onceforall.atomic_files import check_output_folder, describe_os_error, process_alive
from onceforall.errors import OnceForAllError

LOCK_FILE = ".lock"


class RunLockedError(OnceForAllError):
    """The output folder is in use by another process."""


@dataclass(frozen=True)
class LockOwner:
    pid: int
    host: str
    started: float  # time.time() when the lock was taken

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.pid, "host": self.host, "started": self.started}

    @classmethod
    def from_text(cls, text: str) -> LockOwner | None:
        """The owner written in a lock file; None when the text is empty or not ours."""
        try:
            obj = json.loads(text)
            return cls(int(obj["pid"]), str(obj["host"]), float(obj["started"]))
        except (ValueError, TypeError, KeyError):
            return None

    def describe(self) -> str:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started))
        return f"pid {self.pid} on {self.host} (since {since})"


def this_owner() -> LockOwner:
    return LockOwner(os.getpid(), socket.gethostname(), time.time())


def _warn(message: str) -> None:
    print(message, file=sys.stderr)


@contextlib.contextmanager
def run_lock(folder: Path, *, say: Callable[[str], None] = _warn) -> Iterator[LockOwner]:
    """Hold FOLDER/.lock for the block (created, with FOLDER, if missing).

    On leaving, the lock file is removed, and FOLDER (and parents) too when this call created
    them and nothing else was written there (a run that failed before its first file leaves no
    folder).
    """
    folder = Path(folder)
    created = _make_folder(folder)
    try:
        handle, owner = _acquire(folder / LOCK_FILE, say)
    except BaseException:
        _remove_empty(created)
        raise
    try:
        yield owner
    finally:
        with contextlib.suppress(OSError):
            (folder / LOCK_FILE).unlink()
        handle.close()  # releases the flock
        _remove_empty(created)


def _make_folder(folder: Path) -> list[Path]:
    """Create `folder` (and parents); the folders created here, deepest first."""
    check_output_folder(folder)
    created = [f for f in (folder, *folder.parents) if not f.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OnceForAllError(f"cannot create {folder}: {describe_os_error(error)}") from None
    return created


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders `_make_folder` created, deepest first, while they are empty."""
    for created in folders:
        try:
            created.rmdir()
        except OSError:
            return


def _acquire(path: Path, say: Callable[[str], None]) -> tuple[Any, LockOwner]:
    for _ in range(10):  # retried only when the lock file was replaced while we opened it
        try:
            handle = path.open("a+")
        except OSError as error:
            raise OnceForAllError(f"cannot lock {path}: {describe_os_error(error)}") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            previous = LockOwner.from_text(handle.read())
            handle.close()
            who = previous.describe() if previous is not None else "another process"
            raise RunLockedError(
                f"{path.parent} is in use by {who}; wait for it to finish or use another --out"
            ) from None
        if not _same_file(path, handle):  # the owner removed it between our open and flock
            handle.close()
            continue
        handle.seek(0)
        previous = LockOwner.from_text(handle.read())
        owner = this_owner()
        if previous is not None:
            _take_over(path, previous, owner, handle, say)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(owner.to_json()) + "\n")
        handle.flush()
        return handle, owner
    raise RunLockedError(f"{path.parent}: the lock file keeps changing; is another run starting?")


def _take_over(
    path: Path, previous: LockOwner, owner: LockOwner, handle: Any, say: Callable[[str], None]
) -> None:
    """A lock file whose flock is free: its owner died (or the file system ignores flock)."""
    if previous.host != owner.host:
        handle.close()
        raise RunLockedError(
            f"{path} names {previous.describe()}: a process of another machine, which cannot "
            f"be checked from here; if that run is gone, delete {path}"
        )
    if process_alive(previous.pid) and previous.pid != owner.pid:
        handle.close()
        raise RunLockedError(
            f"{path} names {previous.describe()}, a live process, though not locked; if that is "
            f"no run of this folder, delete {path}"
        )
    say(f"note: {path.parent}: taking over the stale lock of {previous.describe()}, now gone")


def _same_file(path: Path, handle: Any) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
    except OSError:
        return False
