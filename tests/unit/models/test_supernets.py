"""Behaviour every registered supernet must have (parametrized over the registry)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import onceforall
from onceforall.errors import ArchError, OnceForAllError, StateDictError, UnknownSupernetError
from onceforall.models.registry import create_supernet, list_supernets, register_supernet

NAMES = list_supernets()
# Many random archs on the tiny networks (one per family), a few on the full-width ones, whose
# export copies tens of millions of weights per arch (time); small-input variants differ from
# their ImageNet twins by one stride.
ARCHS_PER_NET = {name: 40 if name.startswith("test_") else 4 for name in NAMES}


def _input(arch, batch: int = 2, seed: int = 0) -> torch.Tensor:  # type: ignore[no-untyped-def]
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, arch.resolution, arch.resolution, generator=generator)


@pytest.mark.parametrize("name", NAMES)
def test_export_equals_supernet(name: str, randomize) -> None:  # type: ignore[no-untyped-def]
    net = randomize(create_supernet(name, num_classes=10)).eval()
    rng = np.random.default_rng(0)
    archs = [net.space.max(), net.space.min()]
    archs += [net.space.sample(rng) for _ in range(ARCHS_PER_NET[name])]
    for arch in archs:
        x = _input(arch)
        net.set_arch(arch)
        with torch.no_grad():
            expected = net(x)
            got = net.export(arch)(x)
        assert (got - expected).abs().max().item() <= 1e-5, str(arch)


@pytest.mark.parametrize("name", NAMES)
def test_exported_modules_are_stock_torch(name: str) -> None:
    net = create_supernet(name)
    static = net.export(net.space.min())
    for module in static.modules():
        assert type(module).__module__.startswith("torch."), type(module)
    assert not static.training


@pytest.mark.parametrize("name", NAMES)
def test_max_arch_state_dict_loads_into_static_twin(name: str) -> None:
    net = create_supernet(name)
    static = net.static(net.space.max())
    state = {k: v for k, v in net.state_dict().items() if "kernel_transforms" not in k}
    static.load_state_dict(state, strict=True)


def test_using_restores_and_forward_has_no_side_effects(randomize) -> None:  # type: ignore[no-untyped-def]
    net = randomize(create_supernet("test_mbv3_tiny")).eval()
    rng = np.random.default_rng(1)
    first, second = net.space.sample(rng), net.space.sample(rng)
    net.set_arch(first)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    with net.using(second):
        assert net.arch == second
        net(_input(second))
    assert net.arch == first
    with pytest.raises(RuntimeError), net.using(second):
        raise RuntimeError("boom")
    assert net.arch == first
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())
    assert [b.active for b in net.active_blocks()] == list(first.blocks())


def test_channels_last(randomize) -> None:  # type: ignore[no-untyped-def]
    net = randomize(create_supernet("test_mbv3_tiny")).eval()
    arch = net.space.sample(np.random.default_rng(2))
    net.set_arch(arch)
    x = _input(arch)
    expected = net(x)
    net = net.to(memory_format=torch.channels_last)
    got = net(x.to(memory_format=torch.channels_last))
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_any_input_resolution() -> None:
    net = create_supernet("test_mbv3_tiny").eval()
    assert net(torch.zeros(1, 3, 37, 37)).shape == (1, 10)


def test_exported_net_loads_without_onceforall(tmp_path: Path) -> None:
    net = create_supernet("test_mbv3_tiny").eval()
    arch = net.space.sample(np.random.default_rng(3))
    x = _input(arch, batch=1)
    torch.save({"model": net.export(arch), "x": x, "y": net.export(arch)(x)}, tmp_path / "net.pt")
    script = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "onceforall":
            raise ImportError("onceforall is blocked")
sys.meta_path.insert(0, Block())
import torch
saved = torch.load({str(tmp_path / "net.pt")!r}, weights_only=False)
assert torch.equal(saved["model"](saved["x"]), saved["y"])
assert not [m for m in sys.modules if m.startswith("onceforall")]
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.stdout.strip() == "ok", result.stderr


def test_registry_errors() -> None:
    with pytest.raises(UnknownSupernetError, match="known supernets: ofa_mbv3_w10"):
        create_supernet("ofa_mbv3_w11")
    with pytest.raises(OnceForAllError, match="already registered"):
        register_supernet("test_mbv3_tiny", "", lambda n: None, lambda s: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(OnceForAllError, match="num_classes must be a positive integer"):
        create_supernet("test_mbv3_tiny", num_classes=0)


def test_set_arch_outside_space() -> None:
    net = create_supernet("test_mbv3_tiny")
    bad = onceforall.MBv3Arch.from_str("r20-k3e4_k3e4-k9e6_k3e4-k3e3_k7e4")
    with pytest.raises(ArchError, match="kernel_size=9 not in"):
        net.set_arch(bad)
    with pytest.raises(ArchError, match="kernel_size=9 not in"):
        net.export(bad)


def test_state_dict_mismatch_lists_every_problem() -> None:
    net = create_supernet("test_mbv3_tiny")
    state = net.state_dict()
    state.pop("stem.conv.weight")
    state["extra.weight"] = torch.zeros(1)
    state["head.classifier.bias"] = torch.zeros(3)
    with pytest.raises(StateDictError) as error:
        net.load_state_dict(state)
    message = str(error.value)
    assert "missing: stem.conv.weight" in message
    assert "unexpected: extra.weight" in message
    assert "mis-shaped: head.classifier.bias (3,) != (10,)" in message
    assert "\n" not in message


def test_public_interface() -> None:
    net = onceforall.create_supernet("ofa_mbv3_w10", num_classes=1000)
    arch = net.space.sample(np.random.default_rng(0))
    ref = arch.to_reference_dict()
    assert net.space.from_reference_dict(ref) == arch
    assert type(arch).from_str(str(arch)) == arch
    assert net.space.macs(arch) > 0 and net.space.params(arch) > 0
    assert isinstance(net.export(arch), torch.nn.Module)
    assert "ofa_mbv3_w10" in onceforall.list_supernets()
