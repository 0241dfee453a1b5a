"""Fixtures of the reliability tests: a tiny latency table, predictor and stopped run."""

from __future__ import annotations

from pathlib import Path

import pytest
from reliability_helpers import TINY_CONFIG, TWO_PHASES

from onceforall.cli.main import main


@pytest.fixture(scope="session")
def tiny_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A latency table of test_mbv3_tiny (10 classes) at 16 px, timed once per operator."""
    table = tmp_path_factory.mktemp("latency") / "table.json"
    fast = ["--warmup", "0", "--repetitions", "1", "--rounds", "1", "--no-progress"]
    args = ["latency", "build", "test_mbv3_tiny", "--out", str(table), "--resolutions", "16"]
    assert main([*args, *fast]) == 0
    return table


@pytest.fixture(scope="session")
def tiny_predictor(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An (untrained) accuracy predictor file of test_mbv3_tiny."""
    import torch

    from onceforall.arch.mbv3 import MBv3Space
    from onceforall.families.mbv3_features import FeatureEncoding
    from onceforall.models.registry import supernet_space
    from onceforall.predict.accuracy import AccuracyPredictor, build_mlp

    space = supernet_space("test_mbv3_tiny")
    assert isinstance(space, MBv3Space)
    encoding = FeatureEncoding.for_space(space)
    network = build_mlp(encoding.width, [8], torch.Generator().manual_seed(0))
    path = tmp_path_factory.mktemp("predictor") / "predictor.pt"
    AccuracyPredictor(encoding, network, supernet="test_mbv3_tiny").save(path)
    return path


@pytest.fixture(scope="session")
def one_step_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run of the tiny config stopped after one step (a checkpoint to load)."""
    from onceforall.run.config import load_run_config
    from onceforall.train.run import train

    run = tmp_path_factory.mktemp("run")
    train(load_run_config(TINY_CONFIG, [TWO_PHASES]), run, progress=False, max_steps=1)
    return run
