"""The claims study's derived configs (benchmarks/claims/): equal compute, pinned archs, options."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from onceforall.run.config import run_config_from_dict

ROOT = Path(__file__).parents[2]
CLAIMS = ROOT / "benchmarks" / "claims"
STUDY_CONFIGS = [CLAIMS / "fashion_mnist.yaml", ROOT / "configs" / "ps_fashion_mnist.yaml"]


@pytest.fixture(autouse=True)
def claims_on_path() -> Iterator[None]:
    sys.path.insert(0, str(CLAIMS))
    try:
        yield
    finally:
        sys.path.remove(str(CLAIMS))


@pytest.mark.parametrize("config", STUDY_CONFIGS, ids=lambda p: p.name)
def test_ablation_variants_match_the_progressive_passes(config: Path) -> None:
    from ablation import one_phase_config, pass_epochs
    from study import Study

    study = Study(config=config)
    budget = pass_epochs(study.base_config())
    assert budget > sum(p["epochs"] for p in study.base_config()["phases"])  # 2 nets per step
    for phase in (
        {"name": "all_elastic", "subnets_per_step": 2},
        {"name": "sandwich", "sampler": "sandwich", "subnets_per_step": 1},
    ):
        variant = one_phase_config(study, budget, phase)
        assert len(variant["phases"]) == 1
        assert pass_epochs(variant) == pytest.approx(budget, abs=1e-3)
        run_config_from_dict(variant)  # valid as a run config


@pytest.mark.parametrize("config", STUDY_CONFIGS, ids=lambda p: p.name)
def test_scratch_runs_repeat_the_full_phase_pinned_to_one_arch(config: Path) -> None:
    from ps_vs_scratch import scratch_config
    from study import Study

    from onceforall.models.registry import create_supernet

    study = Study(config=config)
    base = study.base_config()
    arch = str(create_supernet(base["supernet"], num_classes=10).space.min())
    scratch = scratch_config(study, arch, seed=3)
    (phase,) = scratch["phases"]
    full = base["phases"][0]
    assert (phase["epochs"], phase["lr"]) == (full["epochs"], full["lr"])
    assert phase["arch"] == arch and phase["distill"] is False and "restrict" not in phase
    assert scratch["seed"] == 3
    assert run_config_from_dict(scratch).phases[0].arch is not None


def test_options_move_runs_and_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from study import study_from_args, study_parser

    args = study_parser(None).parse_args(
        ["--config", str(STUDY_CONFIGS[1]), "--runs", str(tmp_path / "r"), "--results", "out"]
    )
    study = study_from_args(args)
    assert study.dataset == tmp_path / "r" / "accuracy" / "dataset.jsonl"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(CLAIMS / "ablation.py"), "--runs", "x"])
    path = study.write_result("a.json", {"value": 1}, start=0.0)
    written = json.loads(path.read_text())
    assert path == Path("out") / "a.json"
    assert written["command"] == "python benchmarks/claims/ablation.py --runs x"
    assert written["config"] == "configs/ps_fashion_mnist.yaml" and written["value"] == 1


def test_missing_config_is_a_one_line_error(tmp_path: Path) -> None:
    from study import Study

    with pytest.raises(SystemExit, match="no config file"):
        Study(config=tmp_path / "missing.yaml").base_config()


def test_random_pool_refuses_unmeasured_candidates(tmp_path: Path) -> None:
    from search_quality import random_pool
    from study import Study

    from onceforall.models.registry import create_supernet
    from onceforall.predict.dataset import candidates

    space = create_supernet("test_mbv3_tiny", num_classes=10).space
    study = Study(runs=tmp_path)
    study.dataset.parent.mkdir(parents=True)
    archs = [str(a) for a in candidates(space, 3, seed=0)]
    study.dataset.write_text(
        "".join(json.dumps({"arch": a, "accuracy": i / 10}) + "\n" for i, a in enumerate(archs))
    )
    assert random_pool(study, space, 3) == {a: i / 10 for i, a in enumerate(archs)}
    assert list(random_pool(study, space, 2)) == archs[:2]
    with pytest.raises(SystemExit, match="1 of the first 4"):
        random_pool(study, space, 4)


def test_all_after_full_continues_the_full_phase_with_the_elastic_passes(tmp_path: Path) -> None:
    from ablation import all_after_full_config, pass_epochs
    from study import Study

    study = Study(config=STUDY_CONFIGS[0], runs=tmp_path)
    base = study.base_config()
    variant = all_after_full_config(study)
    (phase,) = variant["phases"]
    elastic = {"phases": base["phases"][1:]}
    assert pass_epochs(variant) == pytest.approx(pass_epochs(elastic), abs=1e-3)
    rates = [p["lr"] for p in elastic["phases"]]
    assert min(rates) < phase["lr"] < max(rates)
    assert 0 < phase["warmup_epochs"] < phase["epochs"]
    start = variant["training"]["init_checkpoint"]
    assert start == str(tmp_path / "ps" / "checkpoints" / "phase1-full.pt")
    config = run_config_from_dict(variant)
    assert config.teacher_phase_index is None  # the full phase's teacher comes with the weights


def test_threads_option_reaches_every_derived_config(tmp_path: Path) -> None:
    from ablation import all_after_full_config
    from ps_vs_scratch import scratch_config
    from study import Study

    study = Study(config=STUDY_CONFIGS[0], runs=tmp_path, threads=1)
    arch = str(study.space().min())
    for config in (
        study.base_config(),
        all_after_full_config(study),
        scratch_config(study, arch, 0),
    ):
        assert run_config_from_dict(config).training.threads == 1
