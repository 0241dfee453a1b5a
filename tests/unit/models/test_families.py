"""The generic pieces work on every registered family, with no family-specific code: space
operations used by search, the `ofa info`/`ofa arch` commands, a training step, BN
re-calibration, channel reordering and the reference key mapping (parametrized over the registry).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from onceforall.cli.main import main
from onceforall.models.registry import create_supernet, list_supernets, supernet_space
from onceforall.nn.bn import recalibrate_bn

NAMES = list_supernets()
TINY = [name for name in NAMES if name.startswith("test_")]


def test_every_family_has_a_tiny_variant() -> None:
    assert {"test_mbv3_tiny", "test_proxyless_tiny", "test_resnet_tiny"} <= set(TINY)
    assert {"ofa_proxyless_w13", "ofa_resnet50", "ofa_resnet50_small_input"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_search_operations(name: str) -> None:
    space = supernet_space(name)
    rng = np.random.default_rng(0)
    first, second = space.sample_population(200, rng), space.sample_population(200, rng)
    for population in (
        first,
        space.mutate_population(first, rng, prob=0.3),
        space.crossover_population(first, second, rng),
    ):
        assert population.shape == (200, space.population_width)
        assert space.contains_population(population).all()
        archs = space.from_population(population)
        np.testing.assert_array_equal(space.to_population(archs), population)
    archs = space.from_population(first[:20])
    assert space.macs_population(first[:20]).tolist() == [space.macs(a) for a in archs]
    assert space.params_population(first[:20]).tolist() == [space.params(a) for a in archs]
    assert space.macs(space.min()) < space.macs(space.max())
    assert len(set(space.sample_distinct(10, rng))) == 10
    assert space.contains(space.mutate(archs[0], rng, 0.5))
    assert space.contains(space.crossover(archs[0], archs[1], rng))


@pytest.mark.parametrize("name", NAMES)
def test_arch_forms_round_trip(name: str) -> None:
    space = supernet_space(name)
    for arch in [*space.sample_distinct(10, np.random.default_rng(1)), space.max(), space.min()]:
        assert type(arch).from_str(str(arch)) == arch
        assert space.parse(str(arch)) == arch
        assert space.arch_from_json(json.loads(json.dumps(arch.to_json()))) == arch
        assert space.from_reference_dict(space.to_reference_dict(arch)) == arch


@pytest.mark.parametrize("name", NAMES)
def test_cli_info_and_convert(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", name, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    space = supernet_space(name)
    assert info["size"] == space.size() and info["choices"]["resolution"] == list(space.resolutions)
    assert info["max_arch"] == str(space.max())
    assert main(["arch", "sample", name, "--to", "reference", "--seed", "3"]) == 0
    reference = capsys.readouterr().out.strip()
    assert main(["arch", "convert", name, reference, "--to", "string"]) == 0
    arch = space.parse(capsys.readouterr().out.strip())
    assert space.to_reference_dict(arch) == json.loads(reference)


def _batch(resolution: int, seed: int, n: int = 4) -> torch.Tensor:
    return torch.randn(n, 3, resolution, resolution, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", TINY)
def test_training_step_touches_only_the_active_subnetwork(name: str) -> None:
    """Inactive weights get exactly zero gradient: blocks that do not run, and channels beyond
    the sub-network's (the exported twin has the same parameter names, with the active sizes)."""
    net = create_supernet(name, dropout=0.0, init_seed=1).train()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    for seed, arch in enumerate(net.space.sample_distinct(3, np.random.default_rng(2))):
        net.set_arch(arch)
        optimizer.zero_grad(set_to_none=False)
        logits = net(_batch(arch.resolution, seed))
        torch.nn.functional.cross_entropy(logits, torch.arange(4) % logits.shape[1]).backward()
        active = dict(net.static(arch).named_parameters())
        for key, parameter in net.named_parameters():
            grad = parameter.grad
            if "kernel_transforms" in key:
                continue
            if key not in active:
                assert grad is None or (grad == 0).all(), key
                continue
            assert grad is not None, key
            shape = active[key].shape
            assert (grad[shape[0] :] == 0).all(), key
            if grad.dim() > 1:
                assert (grad[:, shape[1] :] == 0).all(), key
        optimizer.step()


@pytest.mark.parametrize("name", TINY)
def test_batch_norm_recalibration(name: str, randomize) -> None:  # type: ignore[no-untyped-def]
    """Re-calibrating the supernet at an arch gives the statistics of re-calibrating its export."""
    net = randomize(create_supernet(name)).eval()
    arch = net.space.sample(np.random.default_rng(3))
    net.set_arch(arch)
    static = net.static(arch)
    batches = [_batch(arch.resolution, seed) for seed in range(3)]
    assert recalibrate_bn(static, batches) == 12
    recalibrate_bn(net, batches)
    state = net.static(arch).state_dict()
    for key, value in static.state_dict().items():
        if "running" in key:
            torch.testing.assert_close(state[key], value, msg=key)


@pytest.mark.parametrize("name", TINY)
def test_reorder_channels_keeps_the_largest_network(name: str, randomize) -> None:  # type: ignore[no-untyped-def]
    net = randomize(create_supernet(name)).eval()
    net.set_arch(net.space.max())
    x = _batch(net.arch.resolution, 0)
    with torch.no_grad():
        before = net(x)
        net.reorder_channels()
        torch.testing.assert_close(net(x), before, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", TINY)
def test_using_restores_and_blocks_follow_the_arch(name: str, randomize) -> None:  # type: ignore[no-untyped-def]
    net = randomize(create_supernet(name)).eval()
    first, second = net.space.sample_distinct(2, np.random.default_rng(4))
    net.set_arch(first)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    with net.using(second):
        assert net.arch == second
        net(_batch(second.resolution, 0))
    assert net.arch == first
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())
    assert len(net.active_blocks()) == sum(first.depths)
    assert len(list(net.elastic_blocks())) == sum(net.space.layout.slots_per_stage)


@pytest.mark.parametrize("name", NAMES)
def test_every_key_has_one_reference_name(name: str) -> None:
    net = create_supernet(name, num_classes=10)
    names = [n for key in net.state_dict() for n in net.reference_keys(key)]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("name", TINY)
def test_channels_last(name: str, randomize) -> None:  # type: ignore[no-untyped-def]
    net = randomize(create_supernet(name)).eval()
    arch = net.space.sample(np.random.default_rng(5))
    net.set_arch(arch)
    x = _batch(arch.resolution, 1)
    with torch.no_grad():
        expected = net(x)
        net = net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        got = net(x.to(memory_format=torch.channels_last))
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
