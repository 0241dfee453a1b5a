"""Whether a saved run (or fine-tuning) may continue under the current config."""

from __future__ import annotations

from typing import Any

from onceforall.errors import ConfigError
from onceforall.run.config import run_config_from_dict

# Settings that may change between an interrupted run and its resumption.
RESUMABLE_CHANGES = {
    "training.threads",
    "training.checkpoint_every",
    "training.log_every",
    "data.num_workers",
}


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(data, list) and data and all(isinstance(v, dict) for v in data):
        out = {}
        for index, value in enumerate(data):
            out.update(_flatten(value, f"{prefix}.{index}"))
        return out
    return {prefix: data}


def with_current_defaults(saved: dict[str, Any]) -> dict[str, Any]:
    """A saved run config as this version resolves it: a setting added since the run started
    takes its default, so a long run resumes under newer code unless a setting really differs."""
    try:
        return run_config_from_dict(saved).to_dict()
    except ConfigError as error:
        raise ConfigError(f"the run's saved config no longer loads: {error}") from None


def check_resumable(saved: dict[str, Any], current: dict[str, Any]) -> None:
    old, new = _flatten(saved), _flatten(current)
    changed = sorted(
        k for k in set(old) | set(new) if old.get(k) != new.get(k) and k not in RESUMABLE_CHANGES
    )
    if changed:
        raise ConfigError(
            "the config differs from the one of the run being resumed in: " + ", ".join(changed)
        )
