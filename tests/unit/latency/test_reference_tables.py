"""The reference's latency lookup tables: same predictions as the reference's own code."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from onceforall.arch.mbv3 import MBv3Space
from onceforall.compat.reference_oracle import ReferenceUnavailable, import_reference
from onceforall.errors import LatencyTableError
from onceforall.latency.load import load_latency_table
from onceforall.models.registry import list_supernets, supernet_space

REFERENCE_DATA = Path(__file__).resolve().parents[4] / "shared" / "reference-data"
NOTE10 = REFERENCE_DATA / "ofa" / "note10"
MOBILE_TRIM = REFERENCE_DATA / "proxylessnas" / "mobile_trim.yaml"
NOTE10_RESOLUTIONS = (160, 176, 192, 208, 224)

pytestmark = pytest.mark.skipif(
    not NOTE10.is_dir(), reason=f"reference data not found at {REFERENCE_DATA}"
)


def _reference(import_module: Any) -> Any:
    """The oracle, or skip (fail where CI requires the reference)."""
    try:
        return import_module()
    except ReferenceUnavailable as error:
        if os.environ.get("ONCEFORALL_REQUIRE_REFERENCE") == "1":
            pytest.fail(f"the reference oracle is required here: {error}")
        pytest.skip(str(error))


def _tutorial_latency_module() -> types.ModuleType:
    """ofa/tutorial/latency_table.py (its package imports gdown, unused here: a stand-in)."""
    sys.modules.setdefault("gdown", types.ModuleType("gdown"))
    return import_reference("ofa.tutorial.latency_table")


def _lookup(path: Path) -> dict[str, Any]:
    with path.open() as stream:
        return dict(yaml.safe_load(stream))


def _mbv3_w12() -> MBv3Space:
    space = supernet_space("ofa_mbv3_w12", 1000)
    assert isinstance(space, MBv3Space)
    return space


def test_note10_equals_the_reference_tutorial_latency_table() -> None:
    """The reference's LatencyTable (ofa/tutorial) for the same arch dicts, at every resolution."""
    tutorial = _reference(_tutorial_latency_module)
    reference = object.__new__(tutorial.LatencyTable)  # its __init__ downloads the files
    reference.latency_tables = {}
    for resolution in NOTE10_RESOLUTIONS:
        estimator = object.__new__(tutorial.LatencyEstimator)
        estimator.lut = _lookup(NOTE10 / f"{resolution}_lookup_table.yaml")
        reference.latency_tables[resolution] = estimator
    model = load_latency_table(NOTE10, _mbv3_w12())
    assert model.resolutions == NOTE10_RESOLUTIONS
    rng = np.random.default_rng(0)
    for resolution in NOTE10_RESOLUTIONS:
        space = model.space.restrict(resolutions=[resolution])
        population = space.sample_population(150, rng)
        archs = space.from_population(population)
        ours = model.predict_population(population)
        expected = [reference.predict_efficiency(space.to_reference_dict(a)) for a in archs]
        assert np.max(np.abs(ours - np.array(expected))) < 1e-9
    for arch in (model.space.min(), model.space.max()):
        ref = model.space.to_reference_dict(arch)
        assert model.predict(arch) == pytest.approx(reference.predict_efficiency(ref), abs=1e-9)


def test_note10_equals_the_reference_mbv3_latency_model() -> None:
    """ofa.nas.efficiency_predictor's MBv3LatencyTable on the reference supernet's net configs."""
    lookup = _reference(
        lambda: import_reference("ofa.nas.efficiency_predictor.latency_lookup_table")
    )
    networks = import_reference()
    net = networks.OFAMobileNetV3(
        n_classes=1000, width_mult=1.2, ks_list=[3, 5, 7], expand_ratio_list=[3, 4, 6]
    )
    model = load_latency_table(NOTE10, _mbv3_w12())
    rng = np.random.default_rng(1)
    for resolution in (160, 224):
        table = object.__new__(lookup.MBv3LatencyTable)
        table.lut = _lookup(NOTE10 / f"{resolution}_lookup_table.yaml")
        space = model.space.restrict(resolutions=[resolution])
        for arch in space.from_population(space.sample_population(5, rng)):
            ref = space.to_reference_dict(arch)
            net.set_active_subnet(ks=ref["ks"], e=ref["e"], d=ref["d"])
            config = net.get_active_net_config()
            expected = table.predict_network_latency_given_config(config, resolution)
            assert model.predict(arch) == pytest.approx(expected, abs=1e-9)


def test_mobile_trim_equals_the_reference_proxylessnas_table() -> None:
    """mobile_trim.yaml was measured for ProxylessNAS w1.0 (expand 3/6) at 224 px."""
    lookup = _reference(
        lambda: import_reference("ofa.nas.efficiency_predictor.latency_lookup_table")
    )
    proxyless = pytest.importorskip("onceforall.arch.proxyless_layout")
    space = MBv3Space(proxyless.proxyless_layout(1.0, 1000), expand_ratios=(3, 6))
    networks = import_reference()
    net = networks.OFAProxylessNASNets(
        n_classes=1000, width_mult=1.0, ks_list=[3, 5, 7], expand_ratio_list=[3, 6]
    )
    table = object.__new__(lookup.ProxylessNASLatencyTable)
    table.lut = _lookup(MOBILE_TRIM)
    model = load_latency_table(MOBILE_TRIM, space)
    assert model.resolutions == (224,)
    population = model.space.sample_population(40, np.random.default_rng(2))
    ours = model.predict_population(population)
    for value, arch in zip(ours, model.space.from_population(population), strict=True):
        ref = model.space.to_reference_dict(arch)
        net.set_active_subnet(ks=ref["ks"], e=ref["e"], d=ref["d"])
        expected = table.predict_network_latency_given_config(net.get_active_net_config(), 224)
        assert value == pytest.approx(expected, abs=1e-9)


@pytest.mark.skipif(
    "ofa_proxyless_w13" not in list_supernets(),
    reason="ofa_proxyless_w13 is not registered yet (ProxylessNAS family in progress)",
)
def test_mobile_trim_does_not_fit_the_w13_supernet() -> None:
    """The released ProxylessNAS supernet is 1.3x wider than the table's network: a clear error."""
    space = supernet_space("ofa_proxyless_w13")
    assert isinstance(space, MBv3Space)
    with pytest.raises(LatencyTableError, match=r"does not cover this space at 224 px"):
        load_latency_table(MOBILE_TRIM, space)


def test_resolution_without_a_table_lists_the_available_ones() -> None:
    model = load_latency_table(NOTE10, _mbv3_w12())
    arch = _mbv3_w12().uniform(164, 3, 3, 2)
    with pytest.raises(LatencyTableError, match=r"resolution 164; .* 160, 176, 192, 208, 224"):
        model.predict(arch)
    with pytest.raises(LatencyTableError, match=r"\[160, 176, 192, 208, 224\], none of which"):
        load_latency_table(NOTE10, _mbv3_w12().restrict(resolutions=[128, 132]))
    single = load_latency_table(NOTE10 / "176_lookup_table.yaml", _mbv3_w12())
    assert single.resolutions == (176,)


def test_other_layouts_and_bad_files_are_clear_errors(tmp_path: Path) -> None:
    w10 = supernet_space("ofa_mbv3_w10", 1000)
    with pytest.raises(LatencyTableError, match="operators missing"):
        load_latency_table(NOTE10, w10)  # type: ignore[arg-type]
    ten_classes = supernet_space("ofa_mbv3_w12", 10)
    with pytest.raises(LatencyTableError, match="Logits"):
        load_latency_table(NOTE10, ten_classes)  # type: ignore[arg-type]
    (tmp_path / "empty").mkdir()
    with pytest.raises(LatencyTableError, match="no reference latency tables"):
        load_latency_table(tmp_path / "empty", _mbv3_w12())
    bad = tmp_path / "bad.yaml"
    bad.write_text("Conv-input:160x160x3-output:80x80x24: {count: 1}\n")
    with pytest.raises(LatencyTableError, match="no numeric 'mean'"):
        load_latency_table(bad, _mbv3_w12())
    bad.write_text("[1, 2\n")
    with pytest.raises(LatencyTableError, match="not valid YAML"):
        load_latency_table(bad, _mbv3_w12())
    twice = tmp_path / "twice"
    twice.mkdir()
    for name in ("a.yaml", "b.yaml"):
        (twice / name).write_text((NOTE10 / "160_lookup_table.yaml").read_text())
    with pytest.raises(LatencyTableError, match="both hold tables for 160 px"):
        load_latency_table(twice, _mbv3_w12())
