"""Bad input to `ofa export`: one-line error, exit code 2, nothing half-written left behind."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest
import torch
from tiny_deploy import ARCH, OUTSIDE_ARCH, fast_request

from onceforall.cli.main import main
from onceforall.deploy import verify
from onceforall.deploy.export import export_subnet
from onceforall.deploy.export_config import ExportRequest, Format, Tolerances
from onceforall.errors import ArchError, CheckpointError, ExportError, StateDictError

FAST_CLI = ["--verify-images", "8", "--warmup", "1", "--repetitions", "2", "--rounds", "1"]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["export", *args, *FAST_CLI, "--quiet"])
    return code, capsys.readouterr().err


def assert_one_line(code: int, err: str, message: str) -> None:
    assert code == 2, err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_arch_outside_the_space(
    capsys: pytest.CaptureFixture[str], tiny_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "exports" / "bad"
    code, err = run_cli(capsys, str(tiny_run), "--arch", OUTSIDE_ARCH, "--out", str(out))
    assert_one_line(code, err, "stage 0 block 0: kernel_size=9 not in (3, 5, 7)")
    assert not (tmp_path / "exports").exists()  # not even the parent it would have created
    with pytest.raises(ArchError, match="resolution=28 not in"):
        export_subnet(fast_request(out, source=tiny_run, arch=ARCH.replace("r20", "r28")))
    with pytest.raises(ArchError, match="--arch is required"):
        export_subnet(fast_request(out, source=tiny_run))
    assert leftovers(tmp_path) == []


def test_run_directory_without_checkpoint(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "run").mkdir()
    out = tmp_path / "out"
    code, err = run_cli(capsys, str(tmp_path / "run"), "--arch", ARCH, "--out", str(out))
    assert_one_line(code, err, "holds no checkpoint (expected")
    assert leftovers(tmp_path) == ["run"]


def test_unwritable_output(
    capsys: pytest.CaptureFixture[str], tiny_run: Path, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("")
    out = tmp_path / "a-file" / "export"
    code, err = run_cli(capsys, str(tiny_run), "--arch", ARCH, "--out", str(out))
    assert_one_line(code, err, "a-file: it is not a directory")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("")
    code, err = run_cli(capsys, str(tiny_run), "--arch", ARCH, "--out", str(tmp_path / "taken"))
    assert_one_line(code, err, "already exists and is not empty")
    assert leftovers(tmp_path) == ["a-file", "taken"] and leftovers(tmp_path / "taken") == ["x"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_parent(tiny_run: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(ExportError, match="cannot write to"):
            export_subnet(fast_request(locked / "out", source=tiny_run, arch=ARCH))
    finally:
        locked.chmod(0o700)
    assert leftovers(locked) == []


def test_onnx_mismatch_leaves_nothing(
    capsys: pytest.CaptureFixture[str],
    tiny_run: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = verify.standalone_outputs

    def off_by_a_bit(
        files: Mapping[Format, Path], images: torch.Tensor, threads: int
    ) -> dict[str, torch.Tensor]:
        outputs = real(files, images, threads)
        outputs["onnx"] = outputs["onnx"] + 1e-3
        return outputs

    monkeypatch.setattr(verify, "standalone_outputs", off_by_a_bit)
    out = tmp_path / "out"
    code, err = run_cli(capsys, str(tiny_run), "--arch", ARCH, "--out", str(out))
    assert_one_line(code, err, "onnx by 0.001 (tolerance 0.0001); nothing was written")
    assert "torchscript by" not in err
    assert leftovers(tmp_path) == []


def test_bad_requests(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="either a run directory or --checkpoint"):
        ExportRequest(out=tmp_path)
    with pytest.raises(ExportError, match="--checkpoint needs --config"):
        ExportRequest(out=tmp_path, reference_checkpoint=tmp_path / "x.pth")
    with pytest.raises(ExportError, match="unknown formats"):
        ExportRequest(out=tmp_path, source=tmp_path, formats=("tflite",))  # type: ignore[arg-type]
    with pytest.raises(ExportError, match="tolerance must be >= 0"):
        Tolerances(onnx=-1.0)


def test_bad_reference_checkpoint(tiny_run: Path, tmp_path: Path) -> None:
    config = tiny_run / "config.yaml"
    torch.save({"state_dict": {"blocks.99.weight": torch.zeros(1)}}, tmp_path / "ref.pth")
    (tmp_path / "junk.pth").write_text("not a checkpoint")
    for name, error, message in [
        ("junk.pth", CheckpointError, "cannot read checkpoint"),
        ("ref.pth", StateDictError, "unexpected: blocks.99.weight"),
        ("missing.pth", CheckpointError, "no such checkpoint"),
    ]:
        request = fast_request(
            tmp_path / "out", reference_checkpoint=tmp_path / name, config=config, arch=ARCH
        )
        with pytest.raises(error, match=message):
            export_subnet(request)
    assert leftovers(tmp_path) == ["junk.pth", "ref.pth"]
