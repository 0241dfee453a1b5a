from __future__ import annotations

import json
from pathlib import Path

import pytest

from onceforall.cli.main import main

CONFIG = str(Path(__file__).parents[3] / "configs" / "test_tiny_synthetic.yaml")
FAST = ["--set", "phases=[{name: full, epochs: 0.3, lr: 0.05}]", "--quiet"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_train_then_eval(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "train", "--config", CONFIG, "--out", str(tmp_path), *FAST)
    assert code == 0 and "finished" in out
    code, out, _ = run(capsys, "eval", str(tmp_path), "--json")
    report = json.loads(out)
    assert code == 0 and [r["label"] for r in report["results"]] == [
        "min",
        "mid1",
        "mid2",
        "mid3",
        "max",
    ]
    arch = report["results"][0]["arch"]
    code, out, _ = run(capsys, "eval", str(tmp_path), "--arch", arch)
    assert code == 0 and arch in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--set", "training.batch_sise=3"], "unknown key training.batch_sise"),
        (
            ["--set", "data.dataset=fashion_mnist", "--set", "data.path=/nonexistent/fmnist"],
            "dataset-fashion-mnist",
        ),
        (["--set", "supernet=ofa_mbv3_w99"], "unknown supernet 'ofa_mbv3_w99'"),
        (["--set", "phases.full.restrict.depths=[5]"], "restrict: depths [5] not in"),
    ],
)
def test_bad_train_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: list[str], message: str
) -> None:
    code, _out, err = run(
        capsys, "train", "--config", CONFIG, "--out", str(tmp_path / "run"), *FAST, *extra
    )
    assert code == 2, err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_eval_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "eval", str(tmp_path))
    assert code == 2 and "holds no checkpoint" in err
    code, _, err = run(
        capsys, "train", "--config", str(tmp_path / "missing.yaml"), "--out", str(tmp_path)
    )
    assert code == 2 and "no such config file" in err
