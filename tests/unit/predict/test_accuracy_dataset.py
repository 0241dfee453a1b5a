from __future__ import annotations

import json
from pathlib import Path

import pytest

from onceforall.errors import OnceForAllError
from onceforall.models.registry import supernet_space
from onceforall.predict.dataset import build_accuracy_dataset, candidates
from onceforall.run.config import load_run_config
from onceforall.train.run import train

CONFIG = Path(__file__).parents[3] / "configs" / "test_tiny_synthetic.yaml"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("run")
    config = load_run_config(CONFIG, ["phases=[{name: full, epochs: 0.5, lr: 0.05}]"])
    train(config, run, progress=False)
    return run


def test_candidates_are_distinct_and_prefix_stable() -> None:
    space = supernet_space("test_mbv3_tiny")
    first = candidates(space, 50, seed=3)
    assert len(set(first)) == 50
    assert candidates(space, 80, seed=3)[:50] == first
    assert candidates(space, 50, seed=4) != first


def test_dataset_appends_resumes_and_dedups(trained: Path) -> None:
    first = build_accuracy_dataset(trained, 12, progress=False)
    assert first.records == 12 and first.evaluated == 12
    again = build_accuracy_dataset(trained, 12, progress=False)
    assert again.evaluated == 0 and again.records == 12
    more = build_accuracy_dataset(trained, 20, progress=False)
    assert more.evaluated == 8 and more.records == 20
    lines = [json.loads(line) for line in first.path.read_text().splitlines()]
    assert len({r["arch"] for r in lines}) == 20
    space = supernet_space("test_mbv3_tiny", num_classes=4)  # the synthetic data's classes
    for record in lines:
        arch = space.parse(record["arch"])
        assert 0.0 <= record["accuracy"] <= 1.0
        assert record["macs"] == space.macs(arch) and record["resolution"] == arch.resolution


def test_interrupted_line_is_ignored(trained: Path, tmp_path: Path) -> None:
    out = tmp_path / "d.jsonl"
    build_accuracy_dataset(trained, 3, out=out, progress=False)
    with out.open("a") as handle:
        handle.write('{"arch": "r20-k3e')  # a crash mid-line
    summary = build_accuracy_dataset(trained, 4, out=out, progress=False)
    assert summary.evaluated == 1 and summary.records == 4


def test_bad_n(trained: Path) -> None:
    with pytest.raises(OnceForAllError, match="at least 1"):
        build_accuracy_dataset(trained, 0, progress=False)


def test_cli(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from onceforall.cli.main import main

    assert main(["predictor", "dataset", str(trained), "--n", "2", "--quiet"]) == 0
    assert "dataset.jsonl" in capsys.readouterr().out
    assert main(["predictor", "dataset", str(trained / "missing"), "--n", "2"]) == 2
    assert "no such checkpoint" in capsys.readouterr().err


def test_eval_images_limits_the_held_out_images(trained: Path, tmp_path: Path) -> None:
    from onceforall.run.datasets import build_run_data
    from onceforall.run.trained import load_trained_supernet

    _, config, _ = load_trained_supernet(trained)
    holdout = len(build_run_data(config.data, config.seed).holdout)
    few = build_accuracy_dataset(
        trained, 2, out=tmp_path / "few.jsonl", eval_images=5, progress=False
    )
    every = build_accuracy_dataset(trained, 2, out=tmp_path / "all.jsonl", progress=False)
    counts = [
        {json.loads(line)["eval_images"] for line in summary.path.read_text().splitlines()}
        for summary in (few, every)
    ]
    assert counts == [{5}, {holdout}] and holdout > 5
    with pytest.raises(OnceForAllError, match="--eval-images must be at least 1"):
        build_accuracy_dataset(trained, 2, eval_images=0, progress=False)
