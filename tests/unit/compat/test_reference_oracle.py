"""Compatibility with the reference implementation, checked against it as an oracle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from onceforall.compat.net_config import load_specialized
from onceforall.compat.reference_oracle import import_reference
from onceforall.errors import StateDictError
from onceforall.models.registry import create_supernet, supernet_space

SPECIALIZED = Path(__file__).parents[4] / "shared" / "reference-data" / "ofa" / "ofa_specialized"


def _reference_mbv3(networks: Any, width: float, randomize) -> Any:  # type: ignore[no-untyped-def]
    net = networks.OFAMobileNetV3(
        n_classes=1000,
        dropout_rate=0,
        width_mult=width,
        ks_list=[3, 5, 7],
        expand_ratio_list=[3, 4, 6],
        depth_list=[2, 3, 4],
    )
    return randomize(net, seed=int(width * 10)).eval()


@pytest.mark.parametrize(("name", "width"), [("ofa_mbv3_w10", 1.0), ("ofa_mbv3_w12", 1.2)])
def test_logits_equal_reference(name: str, width: float, reference_networks, randomize) -> None:  # type: ignore[no-untyped-def]
    reference = _reference_mbv3(reference_networks, width, randomize)
    ours = create_supernet(name, num_classes=1000, dropout=0.0).eval()
    ours.load_reference_state_dict(reference.state_dict())
    rng = np.random.default_rng(0)
    archs = [ours.space.max(), ours.space.min()] + [ours.space.sample(rng) for _ in range(4)]
    generator = torch.Generator().manual_seed(0)
    for arch in archs:
        ref = arch.to_reference_dict()
        reference.set_active_subnet(ks=ref["ks"], e=ref["e"], d=ref["d"])
        ours.set_arch(arch)
        x = torch.randn(2, 3, arch.resolution, arch.resolution, generator=generator)
        with torch.no_grad():
            expected, got = reference(x), ours(x)
        assert expected.abs().max() > 0.1  # a meaningful scale
        assert (got - expected).abs().max().item() <= 1e-5, str(arch)
        with torch.no_grad():
            assert (ours.export(arch)(x) - expected).abs().max().item() <= 1e-5


def test_reference_static_subnet_keys_load(reference_networks, randomize) -> None:  # type: ignore[no-untyped-def]
    """A checkpoint of the reference's full-size static sub-network (no '.bn.bn.') loads too."""
    reference = _reference_mbv3(reference_networks, 1.0, randomize)
    reference.set_max_net()
    static_state = reference.get_active_subnet().state_dict()
    matrices = {k: v for k, v in reference.state_dict().items() if k.endswith("_matrix")}
    ours = create_supernet("ofa_mbv3_w10", num_classes=1000)
    ours.load_reference_state_dict({**static_state, **matrices})
    torch.testing.assert_close(
        ours.state_dict()["stages.0.0.expand.bn.running_var"],
        reference.state_dict()["blocks.1.conv.inverted_bottleneck.bn.bn.running_var"],
    )


def test_mismatched_reference_state_dict(reference_networks, randomize) -> None:  # type: ignore[no-untyped-def]
    state = _reference_mbv3(reference_networks, 1.0, randomize).state_dict()
    ours = create_supernet("ofa_mbv3_w12", num_classes=1000)
    with pytest.raises(StateDictError, match=r"mis-shaped: stem\.conv\.weight"):
        ours.load_reference_state_dict(state)
    state.pop("blocks.1.conv.depth_conv.conv.7to5_matrix")
    state["blocks.99.conv.point_linear.bn.bn.weight"] = torch.zeros(1)
    with pytest.raises(StateDictError) as error:
        create_supernet("ofa_mbv3_w10", num_classes=1000).load_reference_state_dict(state)
    assert "unexpected: blocks.99" in str(error.value)
    assert "missing: stages.0.0.depthwise.conv.kernel_transforms.7to5" in str(error.value)


def test_specialized_configs_import_with_reference_macs(reference_networks) -> None:  # type: ignore[no-untyped-def]
    """All 50 released specialized sub-networks: 34 OFA-MobileNetV3, 16 OFA-ProxylessNAS."""
    import json

    utils = import_reference("ofa.utils")
    layers = import_reference("ofa.imagenet_classification.networks")
    folders = sorted(p for p in SPECIALIZED.iterdir() if p.is_dir())
    imported: dict[str, int] = {}
    for folder in folders:
        config = json.loads((folder / "net.config").read_text())
        result = load_specialized(folder)
        family = {"MobileNetV3": layers.MobileNetV3, "ProxylessNASNets": layers.ProxylessNASNets}
        reference = family[config["name"]].build_from_config(config)
        resolution = result.arch.resolution
        reference_macs = utils.count_net_flops(reference, (1, 3, resolution, resolution))
        ours = supernet_space(result.supernet).macs(result.arch)
        # the reference accumulates in float32: equal up to its rounding
        assert abs(ours - reference_macs) <= 1e-6 * reference_macs, folder.name
        assert supernet_space(result.supernet).params(result.arch) == utils.count_parameters(
            reference
        )
        imported[result.supernet] = imported.get(result.supernet, 0) + 1
    assert imported == {"ofa_mbv3_w10": 24, "ofa_mbv3_w12": 10, "ofa_proxyless_w13": 16}
