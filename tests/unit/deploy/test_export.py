"""Export round trip: every format verified, loadable without onceforall, described by the card."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tiny_deploy import ARCH, CONFIG, FAST_TIMING, ONE_PHASE, OTHER_ARCH, fast_request

from onceforall.arch.mbv3 import MBv3Space
from onceforall.data import eval_loader
from onceforall.deploy.card import ModelCard
from onceforall.deploy.export import export_subnet
from onceforall.families.mbv3_features import FeatureEncoding
from onceforall.latency.build import BuildConfig, build_latency_table
from onceforall.latency.load import load_latency_table
from onceforall.models.registry import supernet_space
from onceforall.predict.accuracy import AccuracyPredictor, build_mlp
from onceforall.run.config import load_run_config
from onceforall.run.datasets import build_run_data
from onceforall.run.evaluate_run import evaluate_run
from onceforall.run.trained import load_trained_supernet


@pytest.fixture(scope="module")
def exported(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ModelCard]:
    out = tmp_path_factory.mktemp("exports") / "tiny"
    card = export_subnet(fast_request(out, source=tiny_run, arch=ARCH, command="ofa export ..."))
    return out, card


def test_files_and_card(exported: tuple[Path, ModelCard], tiny_run: Path) -> None:
    out, card = exported
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        ["card.json", "card.md", "model.pt", "state_dict.pt", "model.torchscript.pt", "model.onnx"]
    )
    data = json.loads((out / "card.json").read_text())
    assert data == card.to_json()
    space = supernet_space("test_mbv3_tiny", 4)
    arch = space.parse(ARCH)
    assert (data["supernet"], data["arch"], data["resolution"]) == ("test_mbv3_tiny", ARCH, 20)
    assert (data["macs"], data["params"]) == (space.macs(arch), space.params(arch))
    assert data["num_classes"] == 4 and len(data["class_names"]) == 4
    assert data["source_kind"] == "supernet run" and data["source"] == str(tiny_run)
    assert data["checkpoint"] == "complete: 1/1 phases (last: full)"
    assert data["calibration_images"] == 64  # data.calibration_images of the config
    assert (data["accuracy_split"], data["accuracy_images"]) == ("holdout", 32)  # synthetic data
    assert data["onnx_opset"] == 17 and data["command"] == "ofa export ..."
    assert data["predicted_accuracy"] is None and data["predicted_latency_ms"] is None
    checks = {c["format"]: c for c in data["verification"]}
    assert sorted(checks) == ["onnx", "pytorch", "torchscript"]
    assert all(
        0 <= c["max_abs_diff"] <= c["tolerance"] and c["images"] == 16 for c in checks.values()
    )
    assert checks["onnx"]["tolerance"] == 1e-4 and checks["torchscript"]["tolerance"] == 1e-5
    timings = {(t["backend"], t["batch_size"]) for t in data["latency"]}
    assert timings == {(b, n) for b in ("pytorch", "torchscript", "onnxruntime") for n in (1, 4)}
    assert all(t["min_ms"] <= t["median_ms"] and t["calls"] == 3 for t in data["latency"])
    for entry in data["files"]:
        content = (out / entry["file"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(content).hexdigest()
        assert entry["bytes"] == len(content)
    assert {"torch", "onnxruntime", "onceforall"} <= set(data["versions"])


def test_markdown_has_every_field(exported: tuple[Path, ModelCard]) -> None:
    out, card = exported
    text = (out / "card.md").read_text()
    assert text == card.to_markdown()
    assert f"`{ARCH}`" in text and "| measured top-1 |" in text
    for section in ("## verification", "## measured latency (ms/call)", "## files", "## versions"):
        assert section in text
    for entry in card.files:
        assert entry.sha256 in text


def test_accuracy_is_the_evaluators(exported: tuple[Path, ModelCard], tiny_run: Path) -> None:
    """Same calibration images and held-out split as `ofa eval`: the same accuracy."""
    _, card = exported
    report = evaluate_run(tiny_run, [ARCH])
    assert card.accuracy == pytest.approx(report["results"][0]["accuracy"])


def test_exported_files_run_without_onceforall(
    exported: tuple[Path, ModelCard], tiny_run: Path, tmp_path: Path
) -> None:
    """Every file loads in a process that cannot import onceforall, at another batch size, and
    gives the logits of the BN-recalibrated sub-network."""
    out, _ = exported
    config = load_run_config(CONFIG, list(ONE_PHASE))
    holdout = build_run_data(config.data, config.seed).holdout
    images = next(iter(eval_loader(holdout, 20, 5))).images.contiguous()
    expected = torch.load(out / "model.pt", weights_only=False)(images)
    torch.save(images, tmp_path / "images.pt")
    script = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "onceforall":
            raise ImportError("onceforall is blocked")
sys.meta_path.insert(0, Block())
import torch, onnxruntime
out = {str(out)!r}
images = torch.load("images.pt", weights_only=True)
session = onnxruntime.InferenceSession(out + "/model.onnx", providers=["CPUExecutionProvider"])
assert [i.name for i in session.get_inputs()] == ["images"]
with torch.no_grad():
    logits = {{
        "pytorch": torch.load(out + "/model.pt", weights_only=False)(images),
        "torchscript": torch.jit.load(out + "/model.torchscript.pt")(images),
        "onnx": torch.from_numpy(session.run(["logits"], {{"images": images.numpy()}})[0]),
    }}
assert not [m for m in sys.modules if m.startswith("onceforall")]
torch.save(logits, "logits.pt")
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    logits = torch.load(tmp_path / "logits.pt", weights_only=True)
    assert torch.allclose(logits["pytorch"], expected, rtol=0, atol=1e-5)  # other thread count
    assert torch.allclose(logits["torchscript"], expected, rtol=0, atol=1e-5)
    assert torch.allclose(logits["onnx"], expected, rtol=0, atol=1e-4)
    # ... and that network is the supernet's sub-network with BN re-calibrated
    net, _, _ = load_trained_supernet(tiny_run)
    state = torch.load(out / "state_dict.pt", weights_only=True)
    static = net.static(net.space.parse(ARCH))
    static.load_state_dict(state)
    assert torch.allclose(static.eval()(images), expected, rtol=0, atol=1e-5)
    weights = {k: v for k, v in state.items() if "running" not in k and "num_batches" not in k}
    original = net.static(net.space.parse(ARCH)).state_dict()
    assert all(torch.equal(weights[k], original[k]) for k in weights)


def test_reference_checkpoint_one_format(tiny_run: Path, tmp_path: Path) -> None:
    """The run's weights saved in the reference key layout give the run's sub-network; only the
    asked format is written, verified and timed (besides PyTorch eager, the baseline)."""
    net, _, _ = load_trained_supernet(tiny_run)
    reference = {net.reference_keys(k)[0]: v for k, v in net.state_dict().items()}
    torch.save({"state_dict": reference}, tmp_path / "reference.pth")
    config = tmp_path / "run.yaml"
    config.write_text((tiny_run / "config.yaml").read_text())
    out = tmp_path / "out"
    card = export_subnet(
        fast_request(
            out,
            reference_checkpoint=tmp_path / "reference.pth",
            config=config,
            arch=OTHER_ARCH,
            formats=("pytorch",),
        )
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "card.json",
        "card.md",
        "model.pt",
        "state_dict.pt",
    ]
    assert (card.source_kind, card.checkpoint) == (
        "reference checkpoint",
        "reference weights (reference.pth)",
    )
    assert [c.format for c in card.verification] == ["pytorch"] and card.onnx_opset is None
    assert {t.backend for t in card.latency} == {"pytorch"} and card.resolution == 16
    state = torch.load(out / "state_dict.pt", weights_only=True)
    original = net.static(net.space.parse(OTHER_ARCH)).state_dict()
    assert state.keys() == original.keys()
    weights = [k for k in state if "running" not in k and "num_batches" not in k]
    assert all(torch.equal(state[k], original[k]) for k in weights)
    report = evaluate_run(tiny_run, [OTHER_ARCH])
    assert card.accuracy == pytest.approx(report["results"][0]["accuracy"])


def test_predictions_found_in_the_run_directory(tiny_run: Path, tmp_path: Path) -> None:
    """RUN/predictor/predictor.pt and RUN/latency/table.json fill the card's predictions."""
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    net, _, _ = load_trained_supernet(run)
    space = net.space
    assert isinstance(space, MBv3Space)
    encoding = FeatureEncoding.for_space(space)
    predictor = AccuracyPredictor(
        encoding, build_mlp(encoding.width, [8], torch.Generator().manual_seed(0))
    )
    predictor.save(run / "predictor" / "predictor.pt")
    table = run / "latency" / "table.json"
    build_latency_table(
        BuildConfig(
            "test_mbv3_tiny", table, FAST_TIMING, num_classes=4, resolutions=(20,), progress=False
        )
    )
    card = export_subnet(fast_request(tmp_path / "out", source=run, arch=ARCH, formats=("onnx",)))
    arch = space.parse(ARCH)
    assert card.predicted_accuracy == pytest.approx(predictor.predict(space, arch))
    assert card.predictor == str(run / "predictor" / "predictor.pt")
    assert card.predicted_latency_ms == pytest.approx(
        load_latency_table(table, space).predict(arch)
    )
    assert card.latency_table == str(table)
