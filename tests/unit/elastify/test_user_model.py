"""A user's network named by reference goes through the CLI: elastify, train, export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from onceforall.cli.main import main
from onceforall.elastify.user_model import load_user_model
from onceforall.models.registry import create_supernet, supernet_space
from onceforall.train.config import load_run_config
from onceforall.train.run import train

HERE = Path(__file__).parent
REFERENCE = f"{HERE / 'user_nets.py'}:build"
TINY = HERE.parents[2] / "configs" / "test_tiny_synthetic.yaml"


def test_reference_builds_the_same_supernet_twice() -> None:
    user = load_user_model(REFERENCE)
    assert user.resolutions == (16, 20) and user.options.max_dropped_blocks == 1
    first, second = (
        create_supernet(REFERENCE, 4, init_seed=3),
        create_supernet(REFERENCE, 4, init_seed=3),
    )
    assert first.name == REFERENCE and first.space == supernet_space(REFERENCE, 4)
    for (key, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b), key
    assert str(first.space.max()) == "r20-d2-w32.32.32-k5"


def test_ofa_elastify_reports_and_bad_references_are_one_line_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["elastify", REFERENCE, "--dry-run", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["num_classes"] == 4 and summary["size"] == 2 * 3 * (
        3 + 3 * 3
    )  # kernel x down.0 x hidden widths over depths
    assert any("stage: keeps 1/2 of 2 blocks" in line for line in summary["report"])
    assert main(["elastify", f"{HERE / 'missing.py'}:build"]) == 2
    assert main(["elastify", f"{HERE / 'user_nets.py'}:nothing"]) == 2
    assert main(["elastify", "not a reference"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and all(line.startswith("ofa elastify: error:") for line in errors)


def test_train_and_export_a_users_network(tmp_path: Path) -> None:
    config = load_run_config(
        TINY,
        [
            f"supernet={REFERENCE}",
            "phases=[{name: full, epochs: 1, lr: 0.05, distill: false,"
            " restrict: {kernel_sizes: [5], width_ratios: [1.0], depth_drops: [0]}},"
            " {name: elastic, epochs: 1, lr: 0.01, subnets_per_step: 2, reorder_channels: true}]",
        ],
    )
    summary = train(config, tmp_path / "run", progress=False)
    assert summary.position.complete
    arch = "r16-d1-w16._.24-k3"
    assert (
        main(
            [
                "export",
                str(tmp_path / "run"),
                "--arch",
                arch,
                "--out",
                str(tmp_path / "x"),
                "--format",
                "pytorch",
                "--verify-images",
                "16",
                "--repetitions",
                "1",
                "--rounds",
                "1",
                "--warmup",
                "0",
                "--quiet",
            ]
        )
        == 0
    )
    card = json.loads((tmp_path / "x" / "card.json").read_text())
    assert card["arch"] == arch
