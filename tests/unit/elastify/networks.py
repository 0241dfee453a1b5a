"""Three user networks written as users write them (torchvision is not available here)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 convs, identity or 1x1-conv shortcut, ReLU after the add."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample: nn.Module | None = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: Tensor) -> Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet18Like(nn.Module):
    """ResNet-18 layout (2 basic blocks per stage), a 7x7 stem, for small images."""

    def __init__(self, num_classes: int = 10, width: int = 16) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 1, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        widths = [width, 2 * width, 4 * width, 8 * width]
        layers, inplanes = [], width
        for index, planes in enumerate(widths):
            stride = 1 if index == 0 else 2
            layers.append(
                nn.Sequential(BasicBlock(inplanes, planes, stride), BasicBlock(planes, planes))
            )
            inplanes = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(inplanes, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand, depthwise, 1x1 project; shortcut when shapes allow."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int, kernel: int = 3) -> None:
        super().__init__()
        hidden = inp * expand_ratio
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers += [
                nn.Conv2d(inp, hidden, 1, bias=False),
                nn.BatchNorm2d(hidden),
                nn.ReLU6(True),
            ]
        layers += [
            nn.Conv2d(hidden, hidden, kernel, stride, kernel // 2, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(True),
            nn.Conv2d(hidden, oup, 1, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2Like(nn.Module):
    """MobileNetV2 layout (t, c, n, s rows), narrow, 5x5 depthwise in the later stages."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        rows = [(1, 8, 1, 1, 3), (6, 16, 2, 1, 3), (6, 24, 3, 2, 5), (6, 32, 3, 2, 5)]
        self.stem = nn.Sequential(
            nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6(True)
        )
        stages, inp = [], 16
        for t, c, n, s, k in rows:
            stages.append(
                nn.Sequential(
                    *[
                        InvertedResidual(inp if i == 0 else c, c, s if i == 0 else 1, t, k)
                        for i in range(n)
                    ]
                )
            )
            inp = c
        self.features = nn.Sequential(*stages)
        self.head = nn.Sequential(
            nn.Conv2d(inp, 64, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU6(True)
        )
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(64, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        x = self.head(self.features(self.stem(x)))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(x)


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        scale = x.mean((2, 3), keepdim=True)
        scale = F.hardsigmoid(self.fc2(F.relu(self.fc1(scale))))
        return x * scale


class SEConcatNet(nn.Module):
    """A plain conv chain with squeeze-excite, an Inception-like concatenation and an MLP head."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 24, 5, 1, 2), nn.BatchNorm2d(24), nn.Hardswish())
        self.conv = nn.Sequential(nn.Conv2d(24, 48, 3, 2, 1), nn.BatchNorm2d(48), nn.ReLU())
        self.se = SqueezeExcite(48, 16)
        self.branch_a = nn.Conv2d(48, 32, 1)
        self.branch_b = nn.Sequential(nn.Conv2d(48, 32, 1), nn.ReLU(), nn.Conv2d(32, 32, 3, 1, 1))
        self.mix = nn.Sequential(nn.Conv2d(64, 64, 1), nn.BatchNorm2d(64), nn.ReLU())
        self.hidden = nn.Linear(64, 40)
        self.out = nn.Linear(40, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.se(self.conv(self.stem(x)))
        x = torch.cat([self.branch_a(x), self.branch_b(x)], dim=1)
        x = self.mix(x).mean((2, 3))
        return self.out(F.relu(self.hidden(x)))
