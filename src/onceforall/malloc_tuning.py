"""Keeping freed large blocks in the heap (glibc), for loops that allocate them over and over.

glibc serves a block above its mmap threshold (dynamic, at most 32 MiB) with fresh pages from
the kernel and unmaps it when freed; the kernel zero-fills each page again on first touch. BN
re-calibration of one sub-network runs a whole calibration batch at a time (the statistics depend
on the batch, so it cannot be chunked as evaluation is, nn/inference.py), and at 300 images of
28-32 px the wide layers' tensors are 34-44 MiB: every layer of every sub-network paid page faults,
about a fifth of the re-calibration's time (benchmarks/results/accuracy_dataset.json). Inside
`keep_large_blocks()` such blocks come from the heap and go back to it, so the next layer reuses
them. Elsewhere than glibc (macOS, musl, Windows) it does nothing.
"""

from __future__ import annotations

import ctypes
import platform
from collections.abc import Iterator
from contextlib import contextmanager

# mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
KEPT_BLOCK_BYTES = 1 << 30  # blocks up to 1 GiB come from the heap inside the block
# What glibc's dynamic thresholds reach once a 32 MiB block has been freed: the state afterwards.
AFTER_MMAP_THRESHOLD = 32 << 20
AFTER_TRIM_THRESHOLD = 64 << 20


def _glibc() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


@contextmanager
def keep_large_blocks() -> Iterator[bool]:
    """Inside: freed blocks up to 1 GiB stay in the heap for reuse (process-wide setting; yields
    whether it applies). Afterwards the thresholds are those glibc's dynamic ones reach after a
    32 MiB block (they stay fixed from then on) and the kept memory is handed back
    (`malloc_trim`)."""
    libc = _glibc()
    applied = libc is not None and libc.mallopt(M_MMAP_THRESHOLD, KEPT_BLOCK_BYTES) == 1
    if libc is not None and applied:
        libc.mallopt(M_TRIM_THRESHOLD, 2 * KEPT_BLOCK_BYTES - 1)  # mallopt takes an int
    try:
        yield applied
    finally:
        if libc is not None and applied:
            libc.mallopt(M_MMAP_THRESHOLD, AFTER_MMAP_THRESHOLD)
            libc.mallopt(M_TRIM_THRESHOLD, AFTER_TRIM_THRESHOLD)
            libc.malloc_trim(0)
