"""The released OFA-ResNet50 accuracy predictor (ofa_resnet50_acc_predictor.pth) as an
AccuracyPredictor.

The file is a bare state dict: `layers.{0,1,2}.0` (Linear + ReLU), `layers.3` (Linear without
bias) and `base_acc`, a constant added to the output. The same function is our MLP with the last
layer's bias set to `base_acc`, on the 82 inputs of `ResNetFeatureEncoding.released_resnet50()`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from onceforall.errors import PredictorError
from onceforall.families.resnet_features import ResNetFeatureEncoding
from onceforall.predict.accuracy import AccuracyPredictor, build_mlp

RELEASED_RESNET50_SUPERNET = "ofa_resnet50"


def is_released_resnet50(state: Any) -> bool:
    return isinstance(state, dict) and "layers.0.0.weight" in state and "base_acc" in state


def released_resnet50(path: Path, state: dict[str, Any]) -> AccuracyPredictor:
    encoding = ResNetFeatureEncoding.released_resnet50()
    hidden: list[int] = []
    while f"layers.{len(hidden)}.0.weight" in state:
        hidden.append(int(state[f"layers.{len(hidden)}.0.weight"].shape[0]))
    network = build_mlp(encoding.width, hidden)
    last = 2 * len(hidden)
    remapped: dict[str, Any] = {
        f"{2 * i}.{kind}": state.get(f"layers.{i}.0.{kind}")
        for i in range(len(hidden))
        for kind in ("weight", "bias")
    }
    remapped[f"{last}.weight"] = state.get(f"layers.{len(hidden)}.weight")
    remapped[f"{last}.bias"] = torch.as_tensor(state["base_acc"]).reshape(1)
    unexpected = sorted(
        set(state)
        - {f"layers.{i}.0.{k}" for i in range(len(hidden)) for k in ("weight", "bias")}
        - {f"layers.{len(hidden)}.weight", "base_acc"}
    )
    try:
        if unexpected or any(v is None for v in remapped.values()):
            raise RuntimeError(f"unexpected {unexpected}, missing layers")
        network.load_state_dict({k: v.float() for k, v in remapped.items()})
    except RuntimeError as error:
        message = str(error).splitlines()[0]
        raise PredictorError(
            f"{path}: not the released OFA-ResNet50 predictor ({message})"
        ) from None
    info = {"source": str(path), "note": "released OFA-ResNet50 ImageNet predictor"}
    return AccuracyPredictor(encoding, network, supernet=RELEASED_RESNET50_SUPERNET, info=info)
