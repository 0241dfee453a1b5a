"""A user's network named by reference goes through the CLI: elastify, train, export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from onceforall.cli.main import main
from onceforall.elastify.user_model import load_user_model
from onceforall.models.registry import create_supernet, supernet_space

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
    assert main(["elastify", REFERENCE, "--num-classes", "0"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 4 and all(line.startswith("ofa elastify: error:") for line in errors)


def test_a_users_network_goes_through_train_latency_predictor_search_export(tmp_path: Path) -> None:
    """The issue's goal: a network from a Python file, with the CLI alone (tiny sizes)."""
    run = tmp_path / "run"
    phases = (
        "phases=[{name: full, epochs: 1, lr: 0.05, distill: false,"
        " restrict: {kernel_sizes: [5], width_ratios: [1.0], depth_drops: [0]}},"
        " {name: elastic, epochs: 1, lr: 0.01, subnets_per_step: 2, reorder_channels: true}]"
    )
    train_args = [
        "train",
        "--config",
        str(TINY),
        "--out",
        str(run),
        "--set",
        f"supernet={REFERENCE}",
    ]
    assert main([*train_args, "--set", phases]) == 0
    fast = ["--warmup", "0", "--repetitions", "1", "--rounds", "1", "--no-progress"]
    table = run / "latency" / "table.json"
    assert (
        main(["latency", "build", REFERENCE, "--out", str(table), "--num-classes", "4", *fast]) == 0
    )
    validation = tmp_path / "validate.json"
    assert main(["latency", "validate", str(table), "--n", "6", "--out", str(validation),
                 "--rounds", "1", "--no-progress"]) == 0  # fmt: skip
    assert json.loads(validation.read_text())["validation_networks"] == 6
    dataset = tmp_path / "accuracy"
    assert (
        main(["predictor", "dataset", str(run), "--n", "12", "--out", str(dataset), "--quiet"]) == 0
    )
    records = next(dataset.rglob("*.jsonl"))
    assert main(["predictor", "fit", str(records), "--supernet", REFERENCE, "--num-classes", "4",
                 "--out", str(run / "predictor"), "--epochs", "5"]) == 0  # fmt: skip
    space = supernet_space(REFERENCE, 4)
    budget = str((space.macs(space.min()) + space.macs(space.max())) // 2)
    assert main(["search", str(run), "--max-macs", budget, "--population", "20",
                 "--generations", "3", "--out", str(tmp_path / "search")]) == 0  # fmt: skip
    (result,) = json.loads((tmp_path / "search" / "search.json").read_text())["results"]
    arch = space.parse(result["arch_string"])
    assert space.macs(arch) <= int(budget)
    export = ["export", str(run), "--arch", str(arch), "--out", str(tmp_path / "x")]
    fast_export = ["--format", "pytorch", "--verify-images", "16", "--repetitions", "1",
                   "--rounds", "1", "--warmup", "0", "--quiet"]  # fmt: skip
    assert main([*export, *fast_export]) == 0
    assert json.loads((tmp_path / "x" / "card.json").read_text())["arch"] == str(arch)
