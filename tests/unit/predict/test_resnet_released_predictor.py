"""The released OFA-ResNet50 predictor: loads, encodes as the reference, predicts as it does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from onceforall.compat.reference_oracle import import_reference
from onceforall.errors import PredictorError
from onceforall.families.resnet_features import ResNetFeatureEncoding
from onceforall.models.registry import supernet_space
from onceforall.predict.accuracy import load_predictor

RELEASED = (
    Path(__file__).parents[4]
    / "shared"
    / "reference-data"
    / "ofa"
    / "ofa_resnet50_acc_predictor.pth"
)


@pytest.fixture(scope="module")
def released_path() -> Path:
    if not RELEASED.is_file():
        pytest.skip(f"no released predictor at {RELEASED}")
    return RELEASED


def test_loads_with_its_encoding(released_path: Path, tmp_path: Path) -> None:
    predictor = load_predictor(released_path)
    assert predictor.encoding == ResNetFeatureEncoding.released_resnet50()
    assert predictor.encoding.width == 82 and predictor.supernet == "ofa_resnet50"
    space = supernet_space("ofa_resnet50")
    predictor.check_space(space, "ofa_resnet50")
    assert 0.6 < predictor.predict(space, space.min()) < predictor.predict(space, space.max()) < 1
    predictor.save(tmp_path / "p.pt")
    again = load_predictor(tmp_path / "p.pt")
    assert again.encoding == predictor.encoding
    assert again.predict(space, space.max()) == predictor.predict(space, space.max())
    with pytest.raises(PredictorError, match="encodes OFA-ResNet spaces, not MBv3Space"):
        predictor.check_space(supernet_space("ofa_mbv3_w10"))
    with pytest.raises(PredictorError, match="block slots per stage"):
        predictor.check_space(supernet_space("test_resnet_tiny"))


def test_bad_released_file(released_path: Path, tmp_path: Path) -> None:
    state = torch.load(released_path, map_location="cpu", weights_only=True)
    state["layers.3.weight"] = state["layers.3.weight"][:, :10]
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(PredictorError, match="not the released OFA-ResNet50 predictor"):
        load_predictor(tmp_path / "bad.pth")


def test_predictions_equal_the_reference(released_path: Path, reference_networks) -> None:  # type: ignore[no-untyped-def]
    module = import_reference("ofa.nas.accuracy_predictor")
    encoder = module.ResNetArchEncoder(
        image_size_list=[128, 144, 160, 176, 192, 224, 240, 256],
        depth_list=[0, 1, 2],
        expand_list=[0.2, 0.25, 0.35],
        width_mult_list=[0.65, 0.8, 1.0],
    )
    reference = module.AccuracyPredictor(encoder, checkpoint_path=str(released_path), device="cpu")
    predictor = load_predictor(released_path)
    space = supernet_space("ofa_resnet50")
    population = space.sample_population(300, np.random.default_rng(0))
    dicts = [space.to_reference_dict(arch) for arch in space.from_population(population)]
    features = np.stack([encoder.arch2feature(d) for d in dicts])
    np.testing.assert_array_equal(predictor.encoding.encode(space, population), features)
    with torch.no_grad():
        expected = reference.predict_acc(dicts).numpy()
    np.testing.assert_allclose(predictor.predict_population(space, population), expected, atol=1e-6)


def test_encoding_of_any_resnet_space() -> None:
    space = supernet_space("test_resnet_tiny")
    encoding = ResNetFeatureEncoding.for_space(space)
    assert ResNetFeatureEncoding.from_json(encoding.to_json()) == encoding
    population = space.sample_population(100, np.random.default_rng(1))
    features = encoding.encode(space, population)
    assert features.shape == (100, encoding.width) and set(np.unique(features)) == {0.0, 1.0}
    # one-hots: resolution, stem depth, (2 + stages) widths, one per block that runs
    active = space.active_slots(population).sum(axis=1)
    np.testing.assert_array_equal(features.sum(axis=1), 2 + (2 + space.num_stages) + active)
    with pytest.raises(PredictorError, match="exactly the keys"):
        ResNetFeatureEncoding.from_json({"family": "resnet"})
