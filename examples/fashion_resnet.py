"""Your own network, made elastic: a small ResNet for 28-32 px images, written as plain PyTorch.

    ofa elastify examples/fashion_resnet.py:build          # what becomes elastic, layer by layer
    ofa train --config configs/user_network_fashion_mnist.yaml --out runs/mine

`build(num_classes)` returns an ordinary `nn.Module`; the decorator only says how to elastify it.
Nothing here knows about onceforall's own supernets.
"""

from __future__ import annotations

from torch import Tensor, nn

from onceforall import elastic_model


class Block(nn.Module):
    """Basic residual block; a strided or widening block gets a 1x1 projection shortcut."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or inplanes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class FashionResNet(nn.Module):
    """A 5x5 stem and three stages of three blocks (16, 32, 64 channels)."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 16, 5, 1, 2, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True)
        )
        stages, inplanes = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            stages.append(
                nn.Sequential(
                    *(
                        Block(inplanes if i == 0 else planes, planes, stride if i == 0 else 1)
                        for i in range(3)
                    )
                )
            )
            inplanes = planes
        self.stage1, self.stage2, self.stage3 = stages
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stage3(self.stage2(self.stage1(self.stem(x))))
        return self.fc(self.pool(x).flatten(1))


@elastic_model(resolutions=(24, 28, 32), width_ratios=(0.5, 0.75, 1.0), kernel_sizes=(3, 5))
def build(num_classes: int = 10) -> nn.Module:
    return FashionResNet(num_classes)
