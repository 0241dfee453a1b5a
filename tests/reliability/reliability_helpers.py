"""Helpers of the reliability tests: run `ofa` in-process, expect one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from onceforall.cli.main import main

TINY_CONFIG = Path(__file__).parents[2] / "configs" / "test_tiny_synthetic.yaml"
# Two short phases (2 + 2 steps), checkpoints only at phase ends: seconds per run.
TWO_PHASES = (
    "phases=["
    "{name: full, epochs: 0.2, lr: 0.05, distill: false,"
    " restrict: {kernel_sizes: [7], expand_ratios: [6], depths: [4]}},"
    "{name: kernel, epochs: 0.2, lr: 0.03,"
    " restrict: {kernel_sizes: [3, 5, 7], expand_ratios: [6], depths: [4]}}]"
)


def ofa(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `ofa ARGS`."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(
    capsys: pytest.CaptureFixture[str], message: str, *args: str, code: int = 2
) -> str:
    """Run `ofa ARGS`; assert it fails with `code` and one line holding `message`."""
    got, _out, err = ofa(capsys, *args)
    assert got == code, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert message in err, err
    return err
