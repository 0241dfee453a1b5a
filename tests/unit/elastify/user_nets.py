"""A user's network file, as `supernet: tests/unit/elastify/user_nets.py:build` names it."""

from __future__ import annotations

from torch import nn

from onceforall import elastic_model


class TinyResNet(nn.Module):
    """Stem, one stage of two residual blocks, a strided conv, a linear head."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 5, padding=2), nn.BatchNorm2d(16), nn.ReLU())
        self.stage = nn.Sequential(Block(16), Block(16))
        self.down = nn.Sequential(nn.Conv2d(16, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.ReLU())
        self.head = nn.Linear(32, num_classes)

    def forward(self, x):  # type: ignore[no-untyped-def]
        x = self.down(self.stage(self.stem(x)))
        return self.head(x.mean((2, 3)))


class Block(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 2 * channels, 1),
            nn.BatchNorm2d(2 * channels),
            nn.ReLU(),
            nn.Conv2d(2 * channels, channels, 3, padding=1),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x):  # type: ignore[no-untyped-def]
        return x + self.body(x)


@elastic_model(resolutions=(16, 20), max_dropped_blocks=1)
def build(num_classes: int = 4) -> nn.Module:
    return TinyResNet(num_classes)
