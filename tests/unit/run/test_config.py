from __future__ import annotations

from pathlib import Path

import pytest

from onceforall.errors import ConfigError
from onceforall.models.registry import supernet_space
from onceforall.run.config import load_run_config, run_config_from_dict
from onceforall.run.config_parsing import apply_override
from onceforall.train.schedule import plan_phases

ROOT = Path(__file__).parents[3]
CONFIGS = [
    *sorted((ROOT / "configs").glob("*.yaml")),
    ROOT / "src" / "onceforall" / "demo" / "fashion_mnist.yaml",
    ROOT / "benchmarks" / "claims" / "fashion_mnist.yaml",
]
MINIMAL = {"supernet": "test_mbv3_tiny", "phases": [{"name": "a", "epochs": 1, "lr": 0.1}]}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_configs_load(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # model references (examples/...py:build) are relative to the clone
    config = load_run_config(path)
    assert config.phases and config.supernet
    space = supernet_space(config.supernet, config.num_classes or 10)
    if config.training.resolutions is not None:
        space = space.with_resolutions(config.training.resolutions)
    plans = plan_phases(config, space, steps_per_epoch=100, world_size=1)  # restricts are valid
    assert [plan.config.name for plan in plans] == [phase.name for phase in config.phases]


def test_defaults_yaml_overrides_priority(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(
        "supernet: test_mbv3_tiny\n"
        "training: {batch_size: 32}\n"
        "phases:\n  - {name: k, epochs: 2, lr: 0.1}\n"
    )
    config = load_run_config(
        path, ["training.batch_size=8", "phases.k.epochs=0.5", "phases.0.lr=0.2"]
    )
    assert config.training.batch_size == 8
    assert config.training.base_batch_size == 64  # default
    assert config.phases[0].epochs == 0.5 and config.phases[0].lr == 0.2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lr_typo": 1}, "unknown key lr_typo"),
        ({"training": {"batch_sise": 3}}, "unknown key training.batch_sise"),
        (
            {"phases": [{"name": "a", "epochs": "two", "lr": 0.1}]},
            "phases\\[0\\].epochs: expected a number",
        ),
        ({"phases": [{"name": "a", "epochs": 1, "lr": 0.1, "sampler": "x"}]}, "is not one of"),
        ({"phases": []}, "at least one phase"),
        (
            {
                "phases": [
                    {"name": "a", "epochs": 1, "lr": 0.1},
                    {"name": "a", "epochs": 1, "lr": 0.1},
                ]
            },
            "unique",
        ),
        ({"training": {"teacher_phase": "nope"}}, "no phase named 'nope'"),
        ({"training": {"channels_last": "yes"}}, "expected true or false"),
    ],
)
def test_errors_name_the_key(change: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        run_config_from_dict({**MINIMAL, **change})


def test_override_errors() -> None:
    data = dict(MINIMAL)
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        apply_override(data, "training.batch_size")
    with pytest.raises(ConfigError, match="no item named 'b'"):
        apply_override(data, "phases.b.lr=1")
    with pytest.raises(ConfigError, match="index out of range"):
        apply_override(data, "phases.3.lr=1")


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_run_config(Path("/nonexistent.yaml"))
