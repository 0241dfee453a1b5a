from __future__ import annotations

import platform
import resource
import subprocess
import sys

import pytest

from onceforall.malloc_tuning import keep_large_blocks

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


PROBE = """
import resource
import torch
from onceforall.malloc_tuning import keep_large_blocks


def faults():
    # minor page faults while filling a 64 MiB tensor allocated right after freeing another
    first = torch.ones(16 << 20)
    del first
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    second = torch.ones(16 << 20)
    count = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    del second
    return count


plain = faults()
with keep_large_blocks() as applied:
    for _ in range(4):  # the heap grows (posix_memalign's offsets cost a few rounds)
        faults()
    inside = faults()
print(plain, int(applied), inside, faults())
"""


@pytest.mark.skipif(not GLIBC, reason="a glibc setting")
def test_large_blocks_are_reused_inside_only() -> None:
    """In a fresh process: malloc's state is per process, and other tests in this one may have
    set it already."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    plain, applied, inside, after = map(int, done.stdout.split())
    pages = (64 << 20) // resource.getpagesize()
    assert applied
    assert plain > pages // 2  # mapped afresh
    assert inside < pages // 10  # then reused
    assert after > pages // 2  # as before afterwards


def test_elsewhere_nothing_happens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    with keep_large_blocks() as applied:
        assert not applied
