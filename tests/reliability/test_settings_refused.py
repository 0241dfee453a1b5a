"""Every bad setting and CLI number is refused in one line before any work, writing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from reliability_helpers import TINY_CONFIG, one_line_error

TRAIN = ("train", "--config", str(TINY_CONFIG), "--quiet")


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("phases.full.lr=.nan", "lr must be a finite number, got nan"),
        ("phases.full.lr=.inf", "lr must be a finite number, got inf"),
        ("optimizer.weight_decay=.nan", "optimizer.weight_decay must be a finite number"),
        ("num_classes=0", "num_classes must be >= 1"),
        ("optimizer.kd_ratio=-1", "optimizer.kd_ratio must be >= 0"),
        ("training.checkpoint_every=-1", "training.checkpoint_every must be >= 1"),
        ("training.checkpoint_every=0", "training.checkpoint_every must be >= 1"),
        ("training.log_every=0", "training.log_every must be >= 1"),
        ("training.threads=0", "training.threads must be >= 1"),
        ("training.base_batch_size=0", "training.base_batch_size must be >= 1"),
        ("training.dropout=1", "training.dropout must be >= 0 and < 1"),
        ("training.dropout=-0.1", "training.dropout must be >= 0 and < 1"),
        ("optimizer.label_smoothing=2", "optimizer.label_smoothing must be >= 0 and < 1"),
        ("seed=-1", "seed must be >= 0"),
        ("training.resolutions=[4000]", "training.resolutions must be >= 1 and <= 1024"),
        ("evaluation.batch_size=0", "evaluation.batch_size must be >= 1"),
        ("phases.full.name=", "phase name must be a plain name"),
        ("phases.full.name=x/../../escape/pwn", "phase name must be a plain name"),
        ("num_classes=2", "num_classes=2, but the data has 4 classes"),
    ],
)
def test_bad_settings_are_refused_before_work(
    setting: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "sub" / "run"
    one_line_error(capsys, message, *TRAIN, "--out", str(run), "--set", setting)
    assert not run.exists()
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((*TRAIN, "--out", "RUN", "--max-steps", "-3"), "--max-steps: must be >= 1, got -3"),
        (("arch", "sample", "test_mbv3_tiny", "--seed", "-1"), "--seed: must be in [0,"),
        (("arch", "sample", "test_mbv3_tiny", "-n", "1e11"), "would need about"),
        (("search", "--supernet", "test_mbv3_tiny", "--predictor", "P", "--max-macs", "1M",
          "--population", "1e9", "--out", "OUT"), "population_size 1,000,000,000 would need"),
        (("latency", "validate", "TABLE", "--n", "0"), "--n: must be >= 1, got 0"),
        (("predictor", "fit", "D", "--supernet", "x", "--out", "O", "--lr", "nan"),
         "--lr: must be a finite number"),
        (("demo", "--dataset-size", "0", "--out", "OUT"), "--dataset-size: must be >= 1"),
        (("demo", "--dataset-size", "3", "--out", "OUT"), "--dataset-size must be >= 10"),
        (("search", "--threads", "0", "--out", "OUT"), "--threads: must be in [1, 4096]"),
    ],
)  # fmt: skip
def test_bad_numbers_on_the_command_line(
    args: tuple[str, ...],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    one_line_error(capsys, message, *args)
    assert not any(tmp_path.iterdir())  # RUN, OUT, ... never created
