"""User errors end in one line with exit 2, the real cause named, nothing lost or left behind."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from reliability_helpers import TINY_CONFIG, TWO_PHASES, ofa, one_line_error

from onceforall.atomic_files import atomic_write_text
from onceforall.errors import OnceForAllError

TINY_ARCH = "r16-k3e3_k3e3-k3e3_k3e3-k3e3_k3e3"


def test_atomic_write_names_the_file_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("keep me")
    for target in (tmp_path / "file" / "x.json", tmp_path / "file" / "sub" / "x.json"):
        with pytest.raises(OnceForAllError, match=r"file is a file, not a folder"):
            atomic_write_text(target, "{}")
    with pytest.raises(OnceForAllError, match="is a folder"):
        atomic_write_text(tmp_path, "{}")
    assert (tmp_path / "file").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # no temporary left


@pytest.mark.parametrize("under", [False, True])
def test_out_on_or_under_a_file(
    under: bool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    one_step_run: Path,
    tiny_table: Path,
    tiny_predictor: Path,
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    out = blocker / "sub" if under else blocker
    dataset = one_step_run / "dataset.jsonl"
    dataset.write_text(
        "".join(json.dumps({"arch": TINY_ARCH.replace("r16", f"r{r}"), "accuracy": 0.5}) + "\n"
                for r in (16, 20, 24))
    )  # fmt: skip
    commands = [
        ("train", "--config", str(TINY_CONFIG), "--set", TWO_PHASES, "--out", str(out)),
        ("latency", "build", "test_mbv3_tiny", "--resolutions", "16", "--out", str(out / "t")),
        ("latency", "validate", str(tiny_table), "--n", "2", "--out", str(out / "v.json")),
        ("predictor", "dataset", str(one_step_run), "--n", "2", "--out", str(out), "--quiet"),
        ("predictor", "fit", str(dataset), "--supernet", "test_mbv3_tiny", "--out", str(out)),
        ("search", "--supernet", "test_mbv3_tiny", "--predictor", str(tiny_predictor),
         "--max-macs", "1M", "--out", str(out)),
        ("demo", "--out", str(out), "--config", str(TINY_CONFIG)),
    ]  # fmt: skip
    for command in commands:
        one_line_error(capsys, str(blocker), *command)
    assert blocker.read_text() == "keep me" and sorted(tmp_path.iterdir()) == [blocker]


def test_foreign_tensor_files_are_summarized_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    garbage, pickled = tmp_path / "garbage.pt", tmp_path / "pickled.pt"
    garbage.write_bytes(Path("/bin/sh").read_bytes()[:400])
    pickled.write_bytes(pickle.dumps({"hook": print}))
    for path in (garbage, pickled):
        err = one_line_error(
            capsys, f"cannot read predictor {path}", "predictor", "predict", TINY_ARCH,
            "--predictor", str(path), "--supernet", "test_mbv3_tiny",
        )  # fmt: skip
        assert "weights_only=False" not in err and len(err) < 300
    err = one_line_error(capsys, "cannot read checkpoint", "eval", str(garbage))
    assert len(err) < 300


def test_binary_and_malformed_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = tmp_path / "binary"
    binary.write_bytes(bytes(range(256)))
    one_line_error(capsys, "not a text file", "arch", "convert", "test_mbv3_tiny", f"@{binary}")
    one_line_error(
        capsys, "not a text file", "train", "--config", str(binary), "--out", str(tmp_path / "r")
    )
    bad_json = '{"resolution": "x", "kernel_sizes": [[3]], "expand_ratios": [[3]]}'
    one_line_error(capsys, "'resolution' must be an integer", "arch", "convert", "test_mbv3_tiny",
                   bad_json)  # fmt: skip
    bad_json = '{"resolution": 16, "kernel_sizes": [["a"]], "expand_ratios": [[3]]}'
    one_line_error(capsys, "must be a list of lists of integers", "arch", "convert",
                   "test_mbv3_tiny", bad_json)  # fmt: skip
    finetuned = tmp_path / "finetuned"
    finetuned.mkdir()
    (finetuned / "finetune.yaml").write_text("finetune: [unclosed")
    (finetuned / "model.pt").write_bytes(b"")
    one_line_error(capsys, "finetune.yaml: while parsing", "export", str(finetuned), "--out",
                   str(tmp_path / "e"))  # fmt: skip
    (finetuned / "finetune.yaml").write_text("finetune: 3\n")
    one_line_error(capsys, "is not a fine-tuning's settings", "export", str(finetuned), "--out",
                   str(tmp_path / "e"))  # fmt: skip
    assert not (tmp_path / "e").exists() and not (tmp_path / "r").exists()


def test_sizes_are_checked_against_memory_before_allocating(
    capsys: pytest.CaptureFixture[str], one_step_run: Path, tiny_table: Path
) -> None:
    one_line_error(capsys, "--n 100,000,000 would need", "predictor", "dataset",
                   str(one_step_run), "--n", "1e8", "--quiet")  # fmt: skip
    one_line_error(capsys, "would need about", "latency", "validate", str(tiny_table),
                   "--n", "1e9", "--no-progress")  # fmt: skip


def test_latency_predict_takes_options_between_archs(
    capsys: pytest.CaptureFixture[str], tiny_table: Path
) -> None:
    args = ["latency", "predict", "test_mbv3_tiny", str(tiny_table)]
    code, out, err = ofa(capsys, *args, "--num-classes", "10", TINY_ARCH, "--json")
    assert code == 0, err
    assert json.loads(out)[0]["arch"] == TINY_ARCH
    # the table was built for 10 classes: a 4-class network is told what to pass
    one_line_error(capsys, "pass --num-classes 10", *args, "--num-classes", "4", TINY_ARCH)


def test_search_and_fit_never_overwrite_silently(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_predictor: Path
) -> None:
    out = tmp_path / "search"
    search = ["search", "--supernet", "test_mbv3_tiny", "--predictor", str(tiny_predictor),
              "--max-macs", "1M", "--generations", "1", "--quiet", "--out", str(out)]  # fmt: skip
    pareto = ["--pareto", "--pareto-generations", "1"]
    assert ofa(capsys, *search, *pareto)[0] == 0
    assert (out / "pareto.json").is_file()
    first = (out / "search.json").read_text()
    one_line_error(capsys, "pass --overwrite", *search)
    assert (out / "search.json").read_text() == first
    assert ofa(capsys, *search, "--overwrite")[0] == 0
    assert sorted(p.name for p in out.iterdir()) == ["search.json"]  # no stale Pareto front

    fitted = tmp_path / "fitted"
    fitted.mkdir()
    (fitted / "predictor.pt").write_bytes(tiny_predictor.read_bytes())
    dataset = tmp_path / "dataset.jsonl"
    dataset.write_text(json.dumps({"arch": TINY_ARCH, "accuracy": 0.5}) + "\n")
    one_line_error(capsys, "pass --overwrite", "predictor", "fit", str(dataset), "--supernet",
                   "test_mbv3_tiny", "--out", str(fitted))  # fmt: skip
    assert (fitted / "predictor.pt").read_bytes() == tiny_predictor.read_bytes()
