"""The MobileNet-style family: OFA-MobileNetV3 and OFA-ProxylessNAS (`MBv3Space`, `MBv3Arch`)."""

from __future__ import annotations

from onceforall.arch.mbv3 import MBv3Space
from onceforall.families.family import Family, PluginRef
from onceforall.families.mbv3_features import FeatureEncoding
from onceforall.families.mbv3_operators import MBV3_OPERATOR_TYPES, mbv3_operator_grid
from onceforall.families.operators import OperatorGrid


def mbv3_space_grid(space: MBv3Space, resolution: int) -> OperatorGrid:
    return mbv3_operator_grid(space.layout, resolution, space.kernel_sizes, space.expand_ratios)


MBV3_FAMILY = Family(
    name="mbv3",
    space_type=MBv3Space,
    supernet_class=PluginRef("onceforall.models.mbv3", "OFAMobileNetV3"),
    feature_encoding=FeatureEncoding.for_space,
    encoding_from_json=FeatureEncoding.from_json,
    encoding_tag=None,
    latency_choices=("kernel_sizes", "expand_ratios"),
    operator_grid=mbv3_space_grid,
    operator_module=PluginRef("onceforall.families.mbv3_operator_modules", "operator_module"),
    operator_types=MBV3_OPERATOR_TYPES,
    reads_reference_latency_tables=True,
    imports_net_config=True,
)
