"""Refusing sizes that cannot fit in memory, before allocating anything.

`ofa arch sample -n 100000000000` or `ofa search --population 1000000000` would otherwise run
until the kernel kills the process; a size is refused when its estimate exceeds half of the
memory available now.
"""

from __future__ import annotations

import os
from pathlib import Path

from onceforall.errors import OnceForAllError

FALLBACK_BYTES = 8 << 30  # when the system does not say
ARCH_BYTES = 4096  # one sub-network held as an Arch object and a population row, generously
SEARCH_ROW_BYTES = 8192  # one population row in a search: genes, features, predictor activations


def available_memory_bytes() -> int:
    """MemAvailable of /proc/meminfo (Linux), else the free physical pages, else 8 GiB."""
    meminfo = Path("/proc/meminfo")
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, AttributeError):
        return FALLBACK_BYTES


def check_fits_in_memory(
    what: str, count: int, bytes_each: int, error: type[OnceForAllError] = OnceForAllError
) -> None:
    """`error` when `count` items of about `bytes_each` bytes exceed half the available memory."""
    needed = count * bytes_each
    available = available_memory_bytes()
    if needed > available // 2:
        raise error(
            f"{what} {count:,} would need about {needed / 2**30:,.1f} GiB, more than half of the "
            f"{available / 2**30:,.1f} GiB of memory available"
        )
