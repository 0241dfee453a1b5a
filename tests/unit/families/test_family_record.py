"""The family record: every registered supernet has one, and its plug-ins agree with the space."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from onceforall.errors import OnceForAllError
from onceforall.families.mbv3 import MBV3_FAMILY
from onceforall.families.operators import operator_key
from onceforall.families.registry import (
    family_of,
    feature_encoding_from_json,
    operator_from_key,
    register_family,
)
from onceforall.families.resnet_operators import resnet_operator_grid
from onceforall.models.registry import create_supernet, list_supernets, supernet_space


@pytest.mark.parametrize("name", list_supernets())
def test_every_supernet_has_a_family_whose_plugins_fit_its_space(name: str) -> None:
    space = supernet_space(name)
    family = family_of(space)
    encoding = family.feature_encoding(space)
    encoding.check_space(space)
    assert feature_encoding_from_json(encoding.to_json()) == encoding
    rows = space.sample_population(8, np.random.default_rng(0))
    assert encoding.encode(space, rows).shape == (8, encoding.width)
    grid = family.operator_grid(space, space.resolutions[0])
    assert grid.slot_values({op: 1.0 for op in grid.operators()}).shape == space.slot_table_shape
    for op in grid.operators()[:20]:
        assert operator_from_key(operator_key(op)) == op
    assert set(family.latency_choice_values(space)) == set(family.latency_choices)


def test_a_space_type_has_one_family() -> None:
    with pytest.raises(OnceForAllError, match="already registered"):
        register_family(MBV3_FAMILY)
    with pytest.raises(OnceForAllError, match="no registered family"):
        family_of(object())


@pytest.mark.parametrize("name", ["test_resnet_tiny", "ofa_resnet50_small_input"])
def test_resnet_operators_chain_into_the_exported_network(name: str) -> None:
    """The modules of the operators an arch reads run in sequence with the shapes the exported
    network has, and count the same parameters."""
    space = supernet_space(name)
    family = family_of(space)
    net = create_supernet(name).eval()
    for arch in space.sample_distinct(3, np.random.default_rng(1)):
        grid = resnet_operator_grid(space, arch.resolution)
        index = space.slot_index(space.to_population([arch]))
        ops = [grid.entries[entry] for entry in index.entries[0][index.active[0]]]
        x = torch.randn(1, 3, arch.resolution, arch.resolution)
        params = 0
        for op in ops:
            assert op is not None
            module, shape = family.operator_torch_module(op, space.layout)
            assert tuple(x.shape[1:]) == shape
            x = module.eval()(x)
            params += sum(p.numel() for p in module.parameters())
        exported = net.export(arch)
        assert x.shape == exported(torch.randn(1, 3, arch.resolution, arch.resolution)).shape
        assert params == space.params(arch)
