"""A classifier whose input features follow the width of the layer before it."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ElasticLinear(nn.Module):
    """`nn.Linear` over the leading `x.shape[1]` input features of the largest layer."""

    def __init__(self, max_in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        reference = nn.Linear(max_in_features, out_features, bias=bias)
        self.weight = nn.Parameter(reference.weight.detach().clone())
        self.bias = (
            nn.Parameter(reference.bias.detach().clone()) if reference.bias is not None else None
        )

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight[:, : x.shape[1]], self.bias)

    @torch.no_grad()
    def export(self, in_features: int) -> nn.Linear:
        linear = nn.Linear(in_features, self.weight.shape[0], bias=self.bias is not None)
        linear = linear.to(self.weight)
        linear.weight.copy_(self.weight[:, :in_features])
        if self.bias is not None and linear.bias is not None:
            linear.bias.copy_(self.bias)
        return linear


class PooledClassifier(nn.Module):
    """Global average pool -> dropout -> classifier (a stock or an elastic linear layer)."""

    def __init__(self, classifier: nn.Module, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.classifier = classifier

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.dropout(x.mean(3).mean(2)))
