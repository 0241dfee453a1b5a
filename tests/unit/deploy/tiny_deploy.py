"""Shared settings of the deployment tests: the tiny run's config, two archs, fast exports."""

from __future__ import annotations

from pathlib import Path

from onceforall.deploy.export_config import ExportRequest
from onceforall.latency.settings import MeasureSettings

CONFIG = Path(__file__).parents[3] / "configs" / "test_tiny_synthetic.yaml"
# One phase over the whole space: every sub-network gets trained a little (a few seconds).
ONE_PHASE = ("phases=[{name: full, epochs: 2, lr: 0.05}]",)
ARCH = "r20-k5e4_k3e6-k7e4_k5e6_k3e4-k3e3_k5e6"
OTHER_ARCH = "r16-k3e3_k3e3-k3e6_k5e4-k7e6_k7e6_k7e6_k7e6"
OUTSIDE_ARCH = "r20-k9e4_k3e6-k7e4_k5e6_k3e4-k3e3_k5e6"  # kernel size 9 is not a choice
FAST_TIMING = MeasureSettings(warmup=1, repetitions=3, rounds=1)


def fast_request(out: Path, **fields: object) -> ExportRequest:
    """An export with few timing calls and a small verification batch."""
    settings: dict[str, object] = {
        "verify_images": 16,
        "latency_batch_sizes": (1, 4),
        "measure": FAST_TIMING,
        "progress": False,
    }
    return ExportRequest(out=out, **(settings | fields))  # type: ignore[arg-type]
