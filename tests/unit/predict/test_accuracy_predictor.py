"""The predictor: save/load round trip, the released weights, and equality with the reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from onceforall.arch.mbv3 import MBv3Space
from onceforall.errors import PredictorError
from onceforall.families.mbv3_features import FeatureEncoding
from onceforall.predict.accuracy import AccuracyPredictor, build_mlp, load_predictor


def small_predictor(space: MBv3Space, seed: int = 0) -> AccuracyPredictor:
    encoding = FeatureEncoding.for_space(space)
    network = build_mlp(encoding.width, [16, 8], torch.Generator().manual_seed(seed))
    return AccuracyPredictor(encoding, network, supernet="test_mbv3_tiny", info={"note": "x"})


def test_seeded_initialization_is_deterministic(tiny_space: MBv3Space) -> None:
    first, second = small_predictor(tiny_space, 3), small_predictor(tiny_space, 3)
    for a, b in zip(first.network.parameters(), second.network.parameters(), strict=True):
        assert torch.equal(a, b)
    other = small_predictor(tiny_space, 4)
    assert not torch.equal(first.network[0].weight, other.network[0].weight)


def test_save_load_round_trip_is_exact(tiny_space: MBv3Space, tmp_path: Path) -> None:
    predictor = small_predictor(tiny_space)
    path = tmp_path / "sub" / "predictor.pt"
    predictor.save(path)
    assert [p.name for p in path.parent.iterdir()] == ["predictor.pt"]  # no temp file left
    loaded = load_predictor(path)
    assert loaded.encoding == predictor.encoding
    assert loaded.hidden_sizes == (16, 8)
    assert loaded.supernet == "test_mbv3_tiny"
    assert dict(loaded.info) == {"note": "x"}
    population = tiny_space.sample_population(200, np.random.default_rng(0))
    np.testing.assert_array_equal(
        loaded.predict_population(tiny_space, population),
        predictor.predict_population(tiny_space, population),
    )
    arch = tiny_space.max()
    assert loaded.predict(tiny_space, arch) == predictor.predict(tiny_space, arch)


def test_predict_features_equals_the_module(tiny_space: MBv3Space) -> None:
    predictor = small_predictor(tiny_space)
    features = predictor.encoding.encode(
        tiny_space, tiny_space.sample_population(64, np.random.default_rng(2))
    )
    with torch.no_grad():
        expected = predictor.network(torch.from_numpy(features))[:, 0].numpy()
    np.testing.assert_allclose(predictor.predict_features(features), expected, rtol=0, atol=1e-6)
    assert predictor.predict_features(features[:0]).shape == (0,)


def test_load_errors(tiny_space: MBv3Space, w12_space: MBv3Space, tmp_path: Path) -> None:
    with pytest.raises(PredictorError, match="no such predictor"):
        load_predictor(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(PredictorError, match="cannot read predictor"):
        load_predictor(garbage)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(PredictorError, match="neither"):
        load_predictor(other)
    wrong_width = tmp_path / "wrong_width.pt"
    torch.save(build_mlp(100, [8]).state_dict(), wrong_width)
    with pytest.raises(PredictorError, match="128"):
        load_predictor(wrong_width)
    path = tmp_path / "tiny.pt"
    small_predictor(tiny_space).save(path)
    with pytest.raises(PredictorError, match="another space"):
        load_predictor(path).predict_population(
            w12_space, w12_space.to_population([w12_space.max()])
        )
    with pytest.raises(PredictorError, match="'test_mbv3_tiny', not 'ofa_mbv3_w12'"):
        load_predictor(path).check_space(tiny_space, "ofa_mbv3_w12")


def test_released_predictor_loads_with_its_encoding(released_predictor_path: Path) -> None:
    predictor = load_predictor(released_predictor_path)
    assert predictor.encoding == FeatureEncoding.released_mbv3()
    assert predictor.hidden_sizes == (400, 400, 400)
    assert predictor.supernet == "ofa_mbv3_w12"


def test_released_predictor_equals_the_reference(
    released_predictor_path: Path, w12_space: MBv3Space, tutorial_predictor_module: Any
) -> None:
    """The reference's tutorial predictor with the same weights, on the same archs."""
    reference = tutorial_predictor_module.AccuracyPredictor(pretrained=False, device="cpu")
    state = torch.load(released_predictor_path, map_location="cpu", weights_only=True)
    reference.model.load_state_dict(state)
    predictor = load_predictor(released_predictor_path)
    population = w12_space.sample_population(1000, np.random.default_rng(0))
    population = np.concatenate([population, w12_space.to_population([w12_space.min()])])
    ours = predictor.predict_population(w12_space, population)
    archs = w12_space.from_population(population)
    theirs = reference.predict_accuracy([w12_space.to_reference_dict(a) for a in archs])
    np.testing.assert_allclose(ours, theirs.numpy().ravel(), rtol=0, atol=2e-6)
    assert ours.min() > 0.6 and ours.max() < 0.9  # top-1 fractions of ImageNet models
