"""Predictor inputs of an elastified network's sub-networks: one one-hot per gene (torch-free).

    [resolution one-hot | depth one-hot per elastic stage | width one-hot per channel group |
     kernel one-hot per elastic convolution]

A gene whose block is dropped reads all zeros, as the paper's encoding does for skipped blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from onceforall.arch.elastified import ElastifiedSpace
from onceforall.arch.genome import check_population
from onceforall.errors import PredictorError

FAMILY = "elastified"


@dataclass(frozen=True)
class ElastifiedFeatureEncoding:
    """The choices of every gene, in column order (the resolution's first)."""

    choices: tuple[tuple[int, ...], ...]

    def __post_init__(self) -> None:
        try:
            choices = tuple(tuple(int(v) for v in gene) for gene in self.choices)
        except (TypeError, ValueError):
            raise PredictorError("feature encoding: choices must be lists of integers") from None
        if not choices or any(list(c) != sorted(set(c)) or not c or c[0] <= 0 for c in choices):
            raise PredictorError("feature encoding: each gene's choices sorted, distinct, > 0")
        object.__setattr__(self, "choices", choices)

    @classmethod
    def for_space(cls, space: ElastifiedSpace) -> ElastifiedFeatureEncoding:
        return cls(tuple(gene.choices for gene in space.genes))

    @classmethod
    def from_json(cls, obj: Any) -> ElastifiedFeatureEncoding:
        if not isinstance(obj, dict) or obj.get("family") != FAMILY:
            raise PredictorError("not an elastified feature encoding")
        return cls(tuple(tuple(gene) for gene in obj.get("choices", ())))

    def to_json(self) -> dict[str, Any]:
        return {"family": FAMILY, "choices": [list(c) for c in self.choices]}

    @property
    def width(self) -> int:
        return sum(len(c) for c in self.choices)

    def check_space(self, space: Any) -> None:
        if not isinstance(space, ElastifiedSpace) or len(space.genes) != len(self.choices):
            raise PredictorError("this predictor was fitted for another network's genes")
        for gene, known in zip(space.genes, self.choices, strict=True):
            extra = sorted(set(gene.choices) - set(known))
            if extra:
                raise PredictorError(
                    f"{gene.kind} of {gene.name or 'the input'}: {extra} not in the predictor's "
                    f"{list(known)}"
                )

    def encode(self, space: Any, population: np.ndarray) -> np.ndarray:
        population = check_population(space, population)
        features = np.zeros((len(population), self.width), dtype=np.float32)
        start = 0
        rows = np.arange(len(population))
        for column, known in enumerate(self.choices):
            lookup = np.full(max(known) + 1, -1, dtype=np.int64)
            lookup[list(known)] = np.arange(len(known))
            genes = population[:, column]
            index = np.where(genes < len(lookup), lookup[np.clip(genes, 0, len(lookup) - 1)], -1)
            index = np.where(genes == 0, -1, index)
            hit = index >= 0
            features[rows[hit], start + index[hit]] = 1.0
            start += len(known)
        return features
