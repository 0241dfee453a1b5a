"""OFA-ProxylessNAS and OFA-ResNet50 against the reference implementation as an oracle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from onceforall.compat.net_config import arch_from_net_config
from onceforall.compat.reference_oracle import reference_supernet
from onceforall.errors import ArchError, StateDictError
from onceforall.models.registry import create_supernet

REFERENCE_DATA = Path(__file__).parents[4] / "shared" / "reference-data"
PROXYLESSNAS = REFERENCE_DATA / "proxylessnas"
SPECIALIZED = REFERENCE_DATA / "ofa" / "ofa_specialized"


def _reference(name: str, randomize, seed: int) -> Any:  # type: ignore[no-untyped-def]
    return randomize(reference_supernet(name), seed=seed).eval()


def _assert_same_logits(reference: Any, ours: Any, arch: Any, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, arch.resolution, arch.resolution, generator=generator)
    ours.set_arch(arch)
    with torch.no_grad():
        expected, got, exported = reference(x), ours(x), ours.export(arch)(x)
    assert expected.abs().max() > 0.1  # a meaningful scale
    assert (got - expected).abs().max().item() <= 1e-5, str(arch)
    assert (exported - expected).abs().max().item() <= 1e-5, str(arch)


def test_proxyless_logits_equal_reference(reference_networks, randomize) -> None:  # type: ignore[no-untyped-def]
    reference = _reference("ofa_proxyless_w13", randomize, 13)
    ours = create_supernet("ofa_proxyless_w13", num_classes=1000, dropout=0.0).eval()
    ours.load_reference_state_dict(reference.state_dict())
    rng = np.random.default_rng(0)
    archs = [ours.space.max(), ours.space.min()] + [ours.space.sample(rng) for _ in range(4)]
    for index, arch in enumerate(archs):
        ref = ours.space.to_reference_dict(arch)
        assert len(ref["ks"]) == 21 and len(ref["d"]) == 6
        reference.set_active_subnet(ks=ref["ks"], e=ref["e"], d=ref["d"])
        _assert_same_logits(reference, ours, arch, index)


def test_resnet50_logits_equal_reference(reference_networks, randomize) -> None:  # type: ignore[no-untyped-def]
    reference = _reference("ofa_resnet50", randomize, 50)
    ours = create_supernet("ofa_resnet50", num_classes=1000, dropout=0.0).eval()
    ours.load_reference_state_dict(reference.state_dict())
    space = ours.space
    rng = np.random.default_rng(1)
    # reference dicts as the reference writes them, every index and depth code included:
    # d[0] in 0/1/2 (only 2 keeps the stem's residual conv), w in 0/1/2 (0.8 and 0.65 give the
    # stem mid the same width)
    # (the largest at 128 px: what it checks does not depend on the input size, the time does)
    dicts = [{**space.to_reference_dict(a), "image_size": 128} for a in (space.max(), space.min())]
    for _ in range(4):
        dicts.append(
            {
                "d": rng.integers(0, 3, 5).tolist(),
                "e": rng.choice([0.2, 0.25, 0.35], 18).tolist(),
                "w": rng.integers(0, 3, 6).tolist(),
                "image_size": int(rng.choice(space.resolutions[:4])),
            }
        )
    for index, ref in enumerate(dicts):
        arch = space.from_reference_dict(ref)
        reference.set_active_subnet(d=ref["d"], e=ref["e"], w=ref["w"])
        _assert_same_logits(reference, ours, arch, index)


def test_reference_static_subnet_keys_load(reference_networks, randomize) -> None:  # type: ignore[no-untyped-def]
    """Checkpoints of the reference's full-size static sub-networks load too."""
    for reference, name in (
        (_reference("ofa_resnet50", randomize, 50), "ofa_resnet50"),
        (_reference("ofa_proxyless_w13", randomize, 13), "ofa_proxyless_w13"),
    ):
        reference.set_max_net()
        static = reference.get_active_subnet().eval()
        matrices = {k: v for k, v in reference.state_dict().items() if k.endswith("_matrix")}
        ours = create_supernet(name, num_classes=1000, dropout=0.0).eval()
        ours.load_reference_state_dict({**static.state_dict(), **matrices})
        x = torch.randn(1, 3, 128, 128, generator=torch.Generator().manual_seed(2))
        with torch.no_grad():
            assert (ours(x) - static(x)).abs().max().item() <= 1e-5, name


def test_mismatched_resnet_state_dict(reference_networks, randomize) -> None:  # type: ignore[no-untyped-def]
    state = _reference("ofa_resnet50", randomize, 50).state_dict()
    with pytest.raises(StateDictError, match=r"unexpected: input_stem\.0\.conv\.conv\.weight"):
        create_supernet("ofa_proxyless_w13", num_classes=1000).load_reference_state_dict(state)
    state.pop("blocks.3.conv2.bn.bn.running_var")
    with pytest.raises(StateDictError, match=r"missing: stages\.0\.3\.conv2\.bn\.running_var"):
        create_supernet("ofa_resnet50", num_classes=1000).load_reference_state_dict(state)
    with pytest.raises(StateDictError, match=r"mis-shaped: head\.classifier\.weight"):
        create_supernet("ofa_resnet50", num_classes=10).load_reference_state_dict(
            _reference("ofa_resnet50", randomize, 50).state_dict()
        )


@pytest.mark.parametrize(
    ("config", "why"),
    [
        ("proxyless_cifar.config", "a PyramidTreeNet net.config"),
        ("proxyless_cpu.config", "ofa_proxyless_w13: stage 1 has 56 channels"),
        ("proxyless_gpu.config", "ofa_proxyless_w13: stage 2 has 104 channels"),
        ("proxyless_mobile.config", "ofa_proxyless_w13: its stem has 32 channels, the layout 40"),
        ("proxyless_mobile_14.config", "ofa_proxyless_w13: its stem has 48 channels"),
    ],
)
def test_proxylessnas_configs_do_not_fit_the_ofa_space(config: str, why: str) -> None:
    """The original ProxylessNAS networks have other stage widths than OFA-ProxylessNAS w1.3."""
    with pytest.raises(ArchError, match=why):
        arch_from_net_config(json.loads((PROXYLESSNAS / config).read_text()), 224)


def test_zero_layers_import_as_identity() -> None:
    """Skipped blocks written as ZeroLayer (as the ProxylessNAS configs do) are dropped."""
    folder = SPECIALIZED / "1080ti_gpu64-12ms_top1-72.6_finetune-25"
    config = json.loads((folder / "net.config").read_text())
    plain = arch_from_net_config(config, 160)
    zero = {"conv": {"name": "ZeroLayer", "stride": 1}, "shortcut": {"name": "IdentityLayer"}}
    config["blocks"] = [*config["blocks"][:2], zero, *config["blocks"][2:]]
    assert arch_from_net_config(config, 160) == plain
    assert plain.supernet == "ofa_proxyless_w13"
