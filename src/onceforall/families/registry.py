"""The registered families, and the questions that span all of them.

Built-in families are registered here; `register_family` adds another (an elastified user
network). Everything downstream calls `family_of(space)`.
"""

from __future__ import annotations

from typing import Any

from onceforall.errors import OnceForAllError, PredictorError
from onceforall.families.elastified import ELASTIFIED_FAMILY
from onceforall.families.family import Family, FeatureEncoding
from onceforall.families.mbv3 import MBV3_FAMILY
from onceforall.families.operators import Operator
from onceforall.families.operators import operator_from_key as parse_operator_key
from onceforall.families.resnet import RESNET_FAMILY

_FAMILIES: dict[str, Family] = {
    family.name: family for family in (MBV3_FAMILY, RESNET_FAMILY, ELASTIFIED_FAMILY)
}


def register_family(family: Family) -> None:
    """Add a family (unique name, unique space type)."""
    if family.name in _FAMILIES:
        raise OnceForAllError(f"a family named {family.name!r} is already registered")
    if any(f.space_type is family.space_type for f in _FAMILIES.values()):
        raise OnceForAllError(f"{family.space_type.__name__} already has a family")
    _FAMILIES[family.name] = family


def families() -> tuple[Family, ...]:
    return tuple(_FAMILIES.values())


def family_of(space: Any) -> Family:
    """The family of a space (of its exact type)."""
    for family in _FAMILIES.values():
        if type(space) is family.space_type:
            return family
    raise OnceForAllError(f"no registered family has spaces of type {type(space).__name__}")


def feature_encoding_from_json(obj: Any) -> FeatureEncoding:
    """A predictor's feature encoding from its JSON, by its "family" tag (untagged: MBv3's)."""
    tag = obj.get("family") if isinstance(obj, dict) else None
    for family in _FAMILIES.values():
        if family.encoding_tag == tag:
            return family.encoding_from_json(obj)
    raise PredictorError(f"no registered family has feature encodings tagged {tag!r}")


def operator_from_key(key: str) -> Operator:
    """Any family's latency operator from its key (families/operators.py)."""
    types = [t for family in _FAMILIES.values() for t in family.operator_types]
    return parse_operator_key(key, types)
