"""The family of elastified user networks (`ElastifiedSpace`, `ElastifiedArch`)."""

from __future__ import annotations

from onceforall.arch.elastified import ElastifiedSpace
from onceforall.families.elastified_features import FAMILY as ENCODING_TAG
from onceforall.families.elastified_features import ElastifiedFeatureEncoding
from onceforall.families.elastified_operators import (
    ELASTIFIED_OPERATOR_TYPES,
    elastified_operator_grid,
)
from onceforall.families.family import Family, PluginRef

ELASTIFIED_FAMILY = Family(
    name="elastified",
    space_type=ElastifiedSpace,
    supernet_class=PluginRef("onceforall.elastify.user_model", "supernet_for_space"),
    feature_encoding=ElastifiedFeatureEncoding.for_space,
    encoding_from_json=ElastifiedFeatureEncoding.from_json,
    encoding_tag=ENCODING_TAG,
    latency_choices=(),
    operator_grid=elastified_operator_grid,
    operator_module=PluginRef(
        "onceforall.families.elastified_operator_modules", "elastified_operator_module"
    ),
    operator_types=ELASTIFIED_OPERATOR_TYPES,
)
