"""One tiny trained run for the deployment tests (a few seconds), shared by every module."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_deploy import CONFIG, ONE_PHASE

from onceforall.run.config import load_run_config
from onceforall.train.run import train


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("run")
    summary = train(load_run_config(CONFIG, list(ONE_PHASE)), run, progress=False)
    assert summary.position.complete
    return run
