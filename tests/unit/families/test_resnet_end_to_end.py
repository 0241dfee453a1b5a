"""OFA-ResNet through the whole pipeline, one test per step: a tiny trained run -> latency table
(build, validate) -> accuracy dataset and fitted predictor -> search under MACs and latency
budgets -> export; and the released OFA-ResNet50 predictor in search."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from onceforall.deploy.export import export_subnet
from onceforall.deploy.export_config import ExportRequest
from onceforall.families.operators import operator_key
from onceforall.families.registry import family_of
from onceforall.families.resnet_operators import resnet_operator_grid
from onceforall.latency.build import BuildConfig, build_latency_table
from onceforall.latency.load import load_latency_table
from onceforall.latency.settings import MeasureSettings
from onceforall.latency.validate import ValidateConfig, validate_latency_table
from onceforall.models.registry import supernet_space
from onceforall.predict.accuracy import load_predictor
from onceforall.predict.dataset import build_accuracy_dataset
from onceforall.predict.fit_config import FitConfig
from onceforall.predict.workflows import fit_from_dataset
from onceforall.run.config import load_run_config
from onceforall.search.configs import EvolutionConfig
from onceforall.search.constraints import Budget
from onceforall.search.evolution import evolution_search
from onceforall.search.problem import search_problem
from onceforall.search.run import SearchRequest, run_search
from onceforall.train.run import train

CONFIG = Path(__file__).parents[3] / "configs" / "test_tiny_synthetic.yaml"
RELEASED = Path(__file__).parents[4] / "shared" / "reference-data" / "ofa"
NAME = "test_resnet_tiny"
FAST = MeasureSettings(warmup=1, repetitions=2, rounds=1)
SMALL_EVOLUTION = EvolutionConfig(population_size=16, generations=4)


@pytest.fixture(scope="module")
def resnet_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny OFA-ResNet trained for one short phase on synthetic images (4 classes, 20 px)."""
    run = tmp_path_factory.mktemp("resnet_run")
    overrides = [f"supernet={NAME}", "phases=[{name: full, epochs: 1, lr: 0.05}]"]
    train(load_run_config(CONFIG, overrides), run, progress=False)
    return run


@pytest.fixture(scope="module")
def table(resnet_run: Path) -> Path:
    path = resnet_run / "latency" / "table.json"
    build_latency_table(
        BuildConfig(NAME, path, FAST, num_classes=4, resolutions=(20,), progress=False)
    )
    return path


def test_latency_table_predicts_the_sum_of_its_operators(table: Path) -> None:
    space = supernet_space(NAME, 4).restrict(resolutions=[20])
    model = load_latency_table(table, space)
    entries = json.loads(table.read_text())["entries"]
    grid = resnet_operator_grid(space, 20)
    rows = space.sample_population(50, np.random.default_rng(0))
    index = space.slot_index(rows)
    for row, predicted in enumerate(model.predict_population(rows)):
        read = index.entries[row][index.active[row]]
        walk = sum(
            entries[operator_key(op)]["min_ms"] for op in map(grid.entries.__getitem__, read) if op
        )
        assert predicted == pytest.approx(walk, rel=1e-12)


def test_latency_table_validates(table: Path, tmp_path: Path) -> None:
    config = ValidateConfig(
        table, n=2, calibration=3, out=tmp_path / "v.json", network_rounds=1, progress=False
    )
    report = validate_latency_table(config)
    assert report.networks == 2 and report.raw.mape_percent >= 0
    assert json.loads((tmp_path / "v.json").read_text())["complete"]


@pytest.fixture(scope="module")
def predictor(resnet_run: Path) -> Path:
    dataset = resnet_run / "predictor" / "dataset.jsonl"
    build_accuracy_dataset(resnet_run, 12, eval_images=16, progress=False)
    fit = FitConfig(hidden_sizes=(16,), max_epochs=5, batch_size=4)
    fit_from_dataset(dataset, NAME, resnet_run / "predictor", fit, num_classes=4, progress=False)
    return resnet_run / "predictor" / "predictor.pt"


def test_predictor_fits_resnet_features(predictor: Path) -> None:
    fitted = load_predictor(predictor)
    space = supernet_space(NAME, 4)
    assert fitted.encoding == family_of(space).feature_encoding(space)
    accuracies = fitted.predict_population(space, space.to_population([space.min(), space.max()]))
    assert np.isfinite(accuracies).all()


def test_search_with_macs_and_latency_budgets(
    resnet_run: Path, predictor: Path, table: Path, tmp_path: Path
) -> None:
    space = supernet_space(NAME, 4)
    macs = float(
        np.median(space.macs_population(space.sample_population(100, np.random.default_rng(1))))
    )
    latency = load_latency_table(table, space)
    limit = float(
        np.median(
            latency.predict_population(
                latency.space.sample_population(100, np.random.default_rng(2))
            )
        )
    )
    payload = run_search(
        SearchRequest(
            NAME,
            predictor,
            tmp_path,
            budgets=(Budget(max_macs=macs), Budget(max_latency_ms=limit)),
            num_classes=4,
            latency_table=table,
            evolution=SMALL_EVOLUTION,
            progress=False,
        )
    )
    first, second = payload["results"]
    assert first["macs"] <= macs and second["latency_ms"] <= limit
    arch = latency.space.parse(second["arch_string"])
    assert latency.predict(arch) == pytest.approx(second["latency_ms"])


def test_export_with_predictions_from_the_run(
    resnet_run: Path, predictor: Path, table: Path, tmp_path: Path
) -> None:
    space = supernet_space(NAME, 4)
    arch = str(space.restrict(resolutions=[20]).sample(np.random.default_rng(3)))
    request = ExportRequest(
        out=tmp_path / "out",
        source=resnet_run,
        arch=arch,
        formats=("onnx",),
        verify_images=16,
        latency_batch_sizes=(1,),
        measure=FAST,
        progress=False,
    )
    card = export_subnet(request)
    parsed = space.parse(arch)
    assert card.predicted_accuracy == pytest.approx(
        load_predictor(predictor).predict(space, parsed)
    )
    assert card.predicted_latency_ms == pytest.approx(
        load_latency_table(table, space).predict(parsed)
    )


def test_released_resnet50_predictor_searches_under_macs_and_latency() -> None:
    path = RELEASED / "ofa_resnet50_acc_predictor.pth"
    if not path.is_file():
        pytest.skip(f"no released predictor at {path}")
    from onceforall.arch.slot_table import ResolutionTable
    from onceforall.latency.model import LatencyModel

    space = supernet_space("ofa_resnet50")
    rng = np.random.default_rng(4)
    # a stand-in table: every entry of the slot table its own positive time
    tables = {
        r: ResolutionTable(r, 0.0, rng.uniform(0.1, 1.0, space.slot_table_shape))
        for r in space.resolutions
    }
    latency = LatencyModel(space, tables, "synthetic")
    problem = search_problem(space, load_predictor(path), latency, supernet="ofa_resnet50")
    assert problem.costs.tabulated
    budgets = [Budget(max_macs=2e9), Budget(max_latency_ms=12.0)]
    results = evolution_search(problem, budgets, SMALL_EVOLUTION, seed=0, progress=False)
    assert results[0].macs <= 2e9 and results[1].latency_ms <= 12.0
    assert 0.6 < results[0].predicted_accuracy < 0.85
