"""A run folder is owned by one process: a second trainer stops at once; a stale lock is taken."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from reliability_helpers import TINY_CONFIG, one_line_error

from onceforall.run_lock import LOCK_FILE, RunLockedError, run_lock


def test_a_second_trainer_on_a_locked_folder_fails_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    with run_lock(run):
        owner = json.loads((run / LOCK_FILE).read_text())
        assert owner["pid"] == os.getpid() and owner["host"]
        one_line_error(
            capsys,
            f"is in use by pid {os.getpid()}",
            "train", "--config", str(TINY_CONFIG), "--out", str(run), "--quiet",
        )  # fmt: skip
        assert sorted(p.name for p in run.iterdir()) == [LOCK_FILE]  # nothing written
    assert not run.exists()  # the folder this lock created, empty, is gone with it


def test_a_lock_left_by_a_killed_process_is_taken_over_with_a_message(tmp_path: Path) -> None:
    run = tmp_path / "run"
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from onceforall.run_lock import run_lock\n"
        "with run_lock(Path(sys.argv[1])):\n"
        "    print(os.getpid(), flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(run)], capture_output=True, text=True, check=False
    )
    assert done.returncode == -9, done.stderr
    dead = int(done.stdout)
    assert json.loads((run / LOCK_FILE).read_text())["pid"] == dead
    notes: list[str] = []
    with run_lock(run, say=notes.append):
        assert json.loads((run / LOCK_FILE).read_text())["pid"] == os.getpid()
    assert len(notes) == 1 and f"stale lock of pid {dead}" in notes[0]
    assert not (run / LOCK_FILE).exists()


def test_a_lock_file_of_another_host_is_refused(tmp_path: Path) -> None:
    tmp_path.joinpath(LOCK_FILE).write_text(
        json.dumps({"pid": 1, "host": "another-machine", "started": 0.0})
    )
    another = r"pid 1 on another-machine .*: a process of another machine"
    with pytest.raises(RunLockedError, match=another), run_lock(tmp_path):
        pass
    assert tmp_path.joinpath(LOCK_FILE).is_file()  # left for its owner
