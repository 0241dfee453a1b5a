from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from onceforall.models.registry import create_supernet, list_supernets, supernet_space

# (supernet, which, resolution) -> (MMACs rounded to 3 decimals, params); the reference's
# count_net_flops / count_parameters on its own networks (1000 classes).
REFERENCE_COUNTS = [
    ("ofa_mbv3_w10", "max", 224, 566.171, 7_664_760),
    ("ofa_mbv3_w10", "min", 224, 121.279, 3_410_792),
    ("ofa_mbv3_w12", "max", 224, 843.101, 10_701_632),
    ("ofa_mbv3_w12", "min", 224, 193.078, 4_602_456),
    ("ofa_mbv3_w10", "max", 128, 188.248, 7_664_760),
    ("ofa_mbv3_w12", "min", 160, 100.321, 4_602_456),
]


@pytest.mark.parametrize(("name", "which", "resolution", "mmacs", "params"), REFERENCE_COUNTS)
def test_known_reference_values(
    name: str, which: str, resolution: int, mmacs: float, params: int
) -> None:
    space = supernet_space(name, 1000)
    arch = replace(space.max() if which == "max" else space.min(), resolution=resolution)
    assert round(space.macs(arch) / 1e6, 3) == mmacs
    assert space.params(arch) == params


@pytest.mark.parametrize("name", list_supernets())
def test_counts_equal_torch_counter_on_exported_net(name: str) -> None:
    net = create_supernet(name).eval()
    rng = np.random.default_rng(0)
    archs = [net.space.max(), net.space.min()] + [net.space.sample(rng) for _ in range(3)]
    for arch in archs:
        static = net.export(arch)
        with FlopCounterMode(display=False) as counter:
            static(torch.zeros(1, 3, arch.resolution, arch.resolution))
        assert counter.get_total_flops() == 2 * net.space.macs(arch), str(arch)
        assert sum(p.numel() for p in static.parameters()) == net.space.params(arch)


def test_population_counts_equal_single_counts() -> None:
    space = supernet_space("ofa_mbv3_w12")
    rng = np.random.default_rng(1)
    population = space.sample_population(300, rng)
    macs = space.macs_population(population)
    params = space.params_population(population)
    archs = space.from_population(population)
    assert macs.tolist() == [space.macs(a) for a in archs]
    assert params.tolist() == [space.params(a) for a in archs]
    assert macs.dtype == np.int64


def test_any_resolution_counts() -> None:
    space = supernet_space("ofa_mbv3_w10")
    arch = replace(space.max(), resolution=260)
    assert space.macs(arch) > space.macs(space.max())
