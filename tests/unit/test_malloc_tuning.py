from __future__ import annotations

import platform
import resource

import pytest
import torch

from onceforall.malloc_tuning import keep_large_blocks

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def page_faults_of_a_second_large_tensor() -> int:
    """Minor page faults while filling a 64 MiB tensor allocated right after freeing another."""
    first = torch.ones(16 << 20)
    del first
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    second = torch.ones(16 << 20)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    del second
    return faults


@pytest.mark.skipif(not GLIBC, reason="a glibc setting")
def test_large_blocks_are_reused_inside_only() -> None:
    pages = (64 << 20) // resource.getpagesize()
    assert page_faults_of_a_second_large_tensor() > pages // 2  # mapped afresh
    with keep_large_blocks() as applied:
        assert applied
        for _ in range(4):  # the heap grows (posix_memalign's offsets cost a few rounds)
            page_faults_of_a_second_large_tensor()
        assert page_faults_of_a_second_large_tensor() < pages // 10  # then is reused
    assert page_faults_of_a_second_large_tensor() > pages // 2  # as before afterwards


def test_elsewhere_nothing_happens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    with keep_large_blocks() as applied:
        assert not applied
