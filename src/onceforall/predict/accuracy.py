"""The accuracy predictor: an MLP from one-hot architecture features to top-1 accuracy (fraction).

The paper's predictor (and the released one for OFA-MobileNetV3 w1.2) is
`Linear(F, 400) -> ReLU -> Linear(400, 400) -> ReLU -> Linear(400, 400) -> ReLU -> Linear(400, 1)`,
an `nn.Sequential` whose state-dict keys are 0/2/4/6. Ours has the same modules and keys, so the
released weights load as they are; the feature encoding travels with the weights.

File format (`save`/`load_predictor`, read with `torch.load(weights_only=True)`): a dict
`{"format": "onceforall.accuracy_predictor", "version": 1, "metadata": JSON text, "state_dict":
{name: tensor}}`; the metadata holds the encoding, the hidden sizes, the supernet name and what the
fit recorded. `load_predictor` also reads the released acc_predictor.pth (a bare state dict).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from onceforall.arch.space import Space
from onceforall.atomic_files import atomic_torch_save
from onceforall.errors import PredictorError
from onceforall.families.family import FeatureEncoding
from onceforall.families.mbv3_features import FeatureEncoding as MBv3FeatureEncoding
from onceforall.families.registry import feature_encoding_from_json
from onceforall.tensor_files import read_tensor_file

FORMAT = "onceforall.accuracy_predictor"
VERSION = 1
RELEASED_SUPERNET = "ofa_mbv3_w12"  # the released acc_predictor.pth was fitted on this supernet


def build_mlp(
    in_features: int, hidden_sizes: Sequence[int], generator: torch.Generator | None = None
) -> nn.Sequential:
    """Linear/ReLU stack ending in Linear(., 1); initialized from `generator` when given."""
    layers: list[nn.Module] = []
    width = in_features
    for hidden in hidden_sizes:
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    layers.append(nn.Linear(width, 1))
    network = nn.Sequential(*layers)
    if generator is not None:
        with torch.no_grad():
            for module in network:
                if isinstance(module, nn.Linear):
                    # PyTorch's default nn.Linear initialization, drawn from `generator`
                    bound = 1.0 / module.in_features**0.5
                    module.weight.uniform_(-bound, bound, generator=generator)
                    module.bias.uniform_(-bound, bound, generator=generator)
    return network


@dataclass(frozen=True, eq=False)
class AccuracyPredictor:
    """Predicted top-1 accuracy (a fraction) of sub-networks of a space (of the family whose
    feature encoding it holds)."""

    encoding: FeatureEncoding
    network: nn.Sequential
    supernet: str | None = None
    info: Mapping[str, Any] = field(default_factory=dict)  # JSON-able: how it was fitted

    def __post_init__(self) -> None:
        first = self.network[0]
        if not isinstance(first, nn.Linear) or first.in_features != self.encoding.width:
            raise PredictorError(
                f"the network takes {getattr(first, 'in_features', '?')} inputs, the encoding "
                f"gives {self.encoding.width}"
            )
        self.network.eval()

    @property
    def hidden_sizes(self) -> tuple[int, ...]:
        return tuple(m.out_features for m in self.network if isinstance(m, nn.Linear))[:-1]

    def check_space(self, space: Space[Any], supernet: str | None = None) -> None:
        """PredictorError if `space` (or the supernet name, when both are known) does not fit."""
        if supernet is not None and self.supernet is not None and supernet != self.supernet:
            raise PredictorError(
                f"the predictor was made for supernet {self.supernet!r}, not {supernet!r}"
            )
        self.encoding.check_space(space)

    @torch.inference_mode()
    def predict_features(self, features: np.ndarray) -> np.ndarray:
        """Float64 accuracies for a float32 feature matrix (the search's hot path)."""
        if len(features) == 0:
            return np.zeros(0, dtype=np.float64)
        x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
        layers = [m for m in self.network if isinstance(m, nn.Linear)]
        for layer in layers[:-1]:  # functional calls: the module call overhead is measurable here
            x = torch.relu_(torch.addmm(layer.bias, x, layer.weight.t()))
        x = torch.addmm(layers[-1].bias, x, layers[-1].weight.t())
        return x[:, 0].numpy().astype(np.float64)

    def predict_population(self, space: Space[Any], population: np.ndarray) -> np.ndarray:
        self.encoding.check_space(space)
        return self.predict_features(self.encoding.encode(space, population))

    def predict(self, space: Space[Any], arch: Any) -> float:
        space.validate(arch)
        return float(self.predict_population(space, space.to_population([arch]))[0])

    def metadata(self) -> dict[str, Any]:
        return {
            "encoding": self.encoding.to_json(),
            "hidden_sizes": list(self.hidden_sizes),
            "supernet": self.supernet,
            "info": dict(self.info),
        }

    def save(self, path: Path) -> None:
        """Write the predictor atomically (see the module docstring for the format)."""
        state = {k: v.detach().clone() for k, v in self.network.state_dict().items()}
        payload = {
            "format": FORMAT,
            "version": VERSION,
            "metadata": json.dumps(self.metadata()),
            "state_dict": state,
        }
        atomic_torch_save(payload, Path(path))


def load_predictor(path: Path) -> AccuracyPredictor:
    """A predictor saved by `save`, or the released OFA-MobileNetV3 acc_predictor.pth."""
    path = Path(path)
    if not path.is_file():
        raise PredictorError(f"no such predictor file: {path}")
    payload = read_tensor_file(path, PredictorError, "predictor")
    if isinstance(payload, dict) and payload.get("format") == FORMAT:
        return _from_payload(path, payload)
    if isinstance(payload, dict) and "0.weight" in payload:
        return _released(path, payload)
    from onceforall.predict.resnet_released import is_released_resnet50, released_resnet50

    if is_released_resnet50(payload):
        return released_resnet50(path, payload)
    raise PredictorError(
        f"{path}: neither an onceforall predictor nor the released OFA-MobileNetV3 predictor"
    )


def _from_payload(path: Path, payload: dict[str, Any]) -> AccuracyPredictor:
    if payload.get("version") != VERSION:
        raise PredictorError(f"{path}: predictor format version {payload.get('version')!r}")
    try:
        meta = json.loads(payload["metadata"])
        obj = meta["encoding"]
        encoding = feature_encoding_from_json(obj)
        network = build_mlp(encoding.width, [int(h) for h in meta["hidden_sizes"]])
        supernet, info = meta["supernet"], meta["info"]
    except (KeyError, TypeError, ValueError) as error:
        raise PredictorError(f"{path}: bad predictor metadata ({error})") from None
    _load_weights(path, network, payload.get("state_dict"))
    return AccuracyPredictor(encoding, network, supernet=supernet, info=info)


def _released(path: Path, state: dict[str, Any]) -> AccuracyPredictor:
    """The released predictor: a bare state dict of the 4-layer MLP on the 128 released inputs."""
    encoding = MBv3FeatureEncoding.released_mbv3()
    weight = state["0.weight"]
    if not isinstance(weight, torch.Tensor) or tuple(weight.shape[1:]) != (encoding.width,):
        raise PredictorError(
            f"{path}: the first layer takes {tuple(getattr(weight, 'shape', ()))[1:]} inputs; "
            f"the released OFA-MobileNetV3 predictor takes {encoding.width}"
        )
    hidden = []
    index = 0
    while f"{index + 2}.weight" in state:
        hidden.append(int(state[f"{index}.weight"].shape[0]))
        index += 2
    network = build_mlp(encoding.width, hidden)
    _load_weights(path, network, state)
    info = {"source": str(path), "note": "released OFA-MobileNetV3 w1.2 ImageNet predictor"}
    return AccuracyPredictor(encoding, network, supernet=RELEASED_SUPERNET, info=info)


def _load_weights(path: Path, network: nn.Sequential, state: Any) -> None:
    if not isinstance(state, dict):
        raise PredictorError(f"{path}: the predictor file has no state dict")
    expected = network.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = [
        k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    if missing or unexpected or shapes:
        raise PredictorError(
            f"{path}: weights do not fit the predictor (missing {missing}, unexpected "
            f"{unexpected}, mis-shaped {shapes})"
        )
    not_finite = sorted(k for k, v in state.items() if not bool(torch.isfinite(v).all()))
    if not_finite:
        raise PredictorError(f"{path}: weights that are not finite numbers in {not_finite}")
    network.load_state_dict({k: v.float() for k, v in state.items()})
