"""The OFA-ResNet family (`ResNetSpace`, `ResNetArch`)."""

from __future__ import annotations

from onceforall.arch.resnet_space import ResNetSpace
from onceforall.families.family import Family, PluginRef
from onceforall.families.operators import OperatorGrid
from onceforall.families.resnet_features import FAMILY as ENCODING_TAG
from onceforall.families.resnet_features import ResNetFeatureEncoding
from onceforall.families.resnet_operators import RESNET_OPERATOR_TYPES, resnet_operator_grid


def resnet_space_grid(space: ResNetSpace, resolution: int) -> OperatorGrid:
    return resnet_operator_grid(space, resolution)


RESNET_FAMILY = Family(
    name="resnet",
    space_type=ResNetSpace,
    supernet_class=PluginRef("onceforall.models.resnet", "OFAResNet"),
    feature_encoding=ResNetFeatureEncoding.for_space,
    encoding_from_json=ResNetFeatureEncoding.from_json,
    encoding_tag=ENCODING_TAG,
    latency_choices=("expand_ratios", "width_multipliers", "stem_depths"),
    operator_grid=resnet_space_grid,
    operator_module=PluginRef(
        "onceforall.families.resnet_operator_modules", "resnet_operator_module"
    ),
    operator_types=RESNET_OPERATOR_TYPES,
)
