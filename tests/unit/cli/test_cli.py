from __future__ import annotations

import json
import subprocess
import sys

import pytest

from onceforall.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_info_json_has_exact_size_and_reference_macs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "info", "ofa_mbv3_w10", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["size"] == 21_758_655_492_572_485_851
    assert info["size_with_resolutions"] == 25 * info["size"]
    rows = {row["resolution"]: row for row in info["per_resolution"]}
    assert round(rows[224]["max_macs"] / 1e6, 3) == 566.171
    assert round(rows[224]["min_macs"] / 1e6, 3) == 121.279
    assert round(rows[128]["max_macs"] / 1e6, 3) == 188.248
    assert rows[224]["max_params"] == 7_664_760 and rows[224]["min_params"] == 3_410_792
    assert info["choices"]["kernel_size"] == [3, 5, 7]


def test_info_table_and_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "info", "test_mbv3_tiny")
    assert code == 0 and "sub-networks" in out and "max MMACs" in out
    code, out, _ = run(capsys, "list", "--json")
    assert code == 0 and "ofa_mbv3_w12" in [e["name"] for e in json.loads(out)]


def test_arch_sample_and_convert_round_trip(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "arch", "sample", "ofa_mbv3_w10", "-n", "3", "--seed", "4")
    assert code == 0
    strings = out.split()
    assert len(set(strings)) == 3
    code, again, _ = run(capsys, "arch", "sample", "ofa_mbv3_w10", "-n", "3", "--seed", "4")
    assert again.split() == strings
    code, out, _ = run(capsys, "arch", "convert", "ofa_mbv3_w10", strings[0], "--to", "reference")
    reference = out.strip()
    code, out, _ = run(capsys, "arch", "convert", "ofa_mbv3_w10", reference, "--to", "json")
    code, out, _ = run(capsys, "arch", "convert", "ofa_mbv3_w10", out.strip(), "--to", "string")
    assert out.strip() == strings[0]
    code, out, _ = run(capsys, "arch", "convert", "ofa_mbv3_w10", strings[0])
    assert json.loads(out)["macs"] > 0


def test_arch_from_file(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "arch.txt"
    path.write_text("r20-k3e4_k3e4-k5e6_k3e4-k3e3_k7e4\n")
    code, out, _ = run(capsys, "arch", "convert", "test_mbv3_tiny", f"@{path}", "--to", "string")
    assert code == 0 and out.strip() == "r20-k3e4_k3e4-k5e6_k3e4-k3e3_k7e4"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("info", "nope"), "unknown supernet 'nope'; known supernets: ofa_mbv3_w10"),
        (
            ("arch", "convert", "test_mbv3_tiny", "r20-k9e4_k3e4-k5e6_k3e4-k3e3_k7e4"),
            "kernel_size=9 not in (3, 5, 7)",
        ),
        (("arch", "convert", "test_mbv3_tiny", "r20-k3e4x"), "at position 8"),
        (("arch", "convert", "test_mbv3_tiny", "{bad json"), "invalid JSON"),
        (("arch", "convert", "test_mbv3_tiny", "@/nonexistent/arch.txt"), "no such file"),
        (("arch", "sample", "test_mbv3_tiny", "-n", "0"), "argument -n: must be >= 1, got 0"),
        (
            ("arch", "convert", "test_resnet_tiny", "r16-s3m1.0w1.0-w1.0:e1.0-w1.0:e1.0-w1.0:e1.0"),
            "mid_width_multiplier=1.0 gives the same 8 channels as 0.75: write 0.75",
        ),
        (
            ("arch", "convert", "ofa_resnet50", '{"d": [2, 0, 0, 0, 0], "image_size": 224}'),
            "the reference dict has no 'e'",
        ),
    ],
)
def test_bad_input_is_one_line_and_nonzero(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert out == ""


def test_console_script_entry_point() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "onceforall", "info", "nope"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.startswith("ofa info: error: unknown supernet")


def test_parsing_does_not_import_torch() -> None:
    """`ofa --help` and usage errors answer without importing torch (~3 s on this machine)."""
    script = (
        "import sys\n"
        "from onceforall.cli.main import build_parser, main\n"
        "build_parser()\n"
        "try:\n"
        "    main(['search', '--bogus'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize(
    "argv",
    [
        ["list"],
        ["info", "ofa_mbv3_w12"],
        ["info", "ofa_resnet50", "--json"],
        ["arch", "sample", "ofa_proxyless_w13", "-n", "3", "--to", "json"],
        [
            "arch",
            "convert",
            "ofa_mbv3_w10",
            "r160-k3e4_k3e4-k3e4_k3e4-k3e4_k3e4-k3e4_k3e4-k3e4_k3e4",
        ],
    ],
)
def test_commands_about_built_in_spaces_do_not_import_torch(argv: list[str]) -> None:
    """`ofa list`, `ofa info` and `ofa arch` answer about a built-in space without torch (a
    user's model reference, with ':', legitimately needs it)."""
    script = (
        "import sys\n"
        "from onceforall.cli.main import main\n"
        "try:\n"
        f"    code = main({argv!r})\n"
        "except SystemExit as stop:\n"
        "    code = stop.code\n"
        "print(code, 'torch' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "0 False", done.stdout + done.stderr
