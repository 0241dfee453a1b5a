"""Fixtures for predictor tests: tiny spaces, the released predictor, the reference tutorial."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from onceforall.arch.mbv3 import MBv3Space
from onceforall.compat.reference_oracle import ReferenceUnavailable, import_reference
from onceforall.models.registry import supernet_space

RELEASED_PREDICTOR = (
    Path(__file__).parents[4] / "shared" / "reference-data" / "ofa" / "acc_predictor.pth"
)


def _unavailable(reason: str) -> None:
    if os.environ.get("ONCEFORALL_REQUIRE_REFERENCE") == "1":
        pytest.fail(f"the reference oracle is required here: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def released_predictor_path() -> Path:
    if not RELEASED_PREDICTOR.is_file():
        _unavailable(f"no released predictor at {RELEASED_PREDICTOR}")
    return RELEASED_PREDICTOR


@pytest.fixture(scope="session")
def tutorial_predictor_module() -> Any:
    """The reference's ofa/tutorial/accuracy_predictor.py (its package imports gdown: a stub)."""
    sys.modules.setdefault("gdown", types.ModuleType("gdown"))
    try:
        return import_reference("ofa.tutorial.accuracy_predictor")
    except ReferenceUnavailable as error:
        _unavailable(str(error))


@pytest.fixture(scope="session")
def tiny_space() -> MBv3Space:
    space = supernet_space("test_mbv3_tiny")
    assert isinstance(space, MBv3Space)
    return space


@pytest.fixture(scope="session")
def w12_space() -> MBv3Space:
    space = supernet_space("ofa_mbv3_w12")
    assert isinstance(space, MBv3Space)
    return space
