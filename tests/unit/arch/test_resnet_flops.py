from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from onceforall.compat.reference_oracle import import_reference, reference_supernet
from onceforall.errors import ArchError
from onceforall.models.registry import supernet_space


def test_population_counts_equal_single_counts() -> None:
    space = supernet_space("ofa_resnet50")
    population = space.sample_population(300, np.random.default_rng(1))
    macs, params = space.macs_population(population), space.params_population(population)
    archs = space.from_population(population)
    assert macs.tolist() == [space.macs(a) for a in archs]
    assert params.tolist() == [space.params(a) for a in archs]
    assert macs.dtype == np.int64 and params.dtype == np.int64


def test_costs_grow_with_every_choice() -> None:
    space = supernet_space("ofa_resnet50")
    smallest = space.min()
    stem = replace(smallest.stem, depth=3)
    wider = replace(
        smallest, stages=(replace(smallest.stages[0], width_multiplier=0.8), *smallest.stages[1:])
    )
    for bigger in (replace(smallest, stem=stem), wider, replace(smallest, resolution=144)):
        assert space.macs(bigger) > space.macs(smallest)
    assert space.params(replace(smallest, resolution=144)) == space.params(smallest)
    with pytest.raises(ArchError, match="columns"):
        space.macs_population(np.zeros((2, 3), dtype=np.int32))


def test_random_subnetworks_match_reference_count(reference_networks) -> None:  # type: ignore[no-untyped-def]
    """Random sub-networks (not only max/min: mixed widths change the input of every stage)."""
    utils = import_reference("ofa.utils")
    reference = reference_supernet("ofa_resnet50")
    space = supernet_space("ofa_resnet50")
    rng = np.random.default_rng(2)
    for _ in range(4):
        arch = replace(space.sample(rng), resolution=int(rng.choice([128, 144, 160])))
        ref = space.to_reference_dict(arch)
        reference.set_active_subnet(d=ref["d"], e=ref["e"], w=ref["w"])
        subnet = reference.get_active_subnet()
        shape = (1, 3, arch.resolution, arch.resolution)
        expected = utils.count_net_flops(subnet, shape)
        assert abs(space.macs(arch) - expected) <= 1e-6 * expected, str(arch)
        assert space.params(arch) == utils.count_parameters(subnet)
