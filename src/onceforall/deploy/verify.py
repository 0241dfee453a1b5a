"""Verification: the exported files, loaded without onceforall, give PyTorch's logits.

The files are run in a fresh Python process in which importing onceforall fails (see
standalone_check.py), on a batch of real held-out images at the arch's resolution; each format's
largest |logit difference| against the in-memory PyTorch module (eval mode) must stay within
its tolerance, else ExportError.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from onceforall.deploy import standalone_check
from onceforall.deploy.export_config import Format, Tolerances
from onceforall.errors import ExportError


@dataclass(frozen=True)
class FormatCheck:
    format: str
    max_abs_diff: float  # largest |logit difference| against PyTorch eval
    tolerance: float
    images: int


def standalone_outputs(
    files: Mapping[Format, Path], images: Tensor, threads: int
) -> dict[str, Tensor]:
    """{format: logits} of `images` computed from `files` in a process without onceforall."""
    source = Path(standalone_check.__file__).read_text()
    with tempfile.TemporaryDirectory(prefix="onceforall-verify-") as work:
        images_path, outputs_path = Path(work) / "images.pt", Path(work) / "outputs.pt"
        torch.save(images.contiguous(), images_path)
        arguments = [str(images_path), str(outputs_path), str(threads)]
        arguments += [f"{name}={path.resolve()}" for name, path in files.items()]
        result = subprocess.run(
            [sys.executable, "-c", source, *arguments],
            capture_output=True,
            text=True,
            cwd=work,  # holds no Python files: nothing on sys.path but the installed packages
            check=False,
        )
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
            raise ExportError(f"the exported files do not run without onceforall: {lines[-1]}")
        outputs: dict[str, Tensor] = torch.load(outputs_path, weights_only=True)
    return outputs


def check_outputs(
    reference: Tensor, outputs: Mapping[str, Tensor], tolerances: Tolerances
) -> tuple[FormatCheck, ...]:
    """One FormatCheck per format; ExportError naming every format beyond its tolerance."""
    checks = []
    for name, logits in outputs.items():
        if logits.shape != reference.shape:
            raise ExportError(
                f"the {name} export gives logits of shape {tuple(logits.shape)}, PyTorch "
                f"{tuple(reference.shape)}"
            )
        difference = (logits.double() - reference.double()).abs().max().item()
        tolerance = tolerances.of(name)  # type: ignore[arg-type]
        checks.append(FormatCheck(name, float(difference), tolerance, int(reference.shape[0])))
    failed = [c for c in checks if not c.max_abs_diff <= c.tolerance]
    if failed:
        details = ", ".join(
            f"{c.format} by {c.max_abs_diff:.3g} (tolerance {c.tolerance:g})" for c in failed
        )
        raise ExportError(
            f"exported logits differ from PyTorch's on {checks[0].images} held-out images: "
            f"{details}; nothing was written"
        )
    return tuple(checks)


@torch.no_grad()
def verify_files(
    module: torch.nn.Module,
    files: Mapping[Format, Path],
    images: Tensor,
    tolerances: Tolerances,
    threads: int,
) -> tuple[FormatCheck, ...]:
    """Run `files` without onceforall and compare with `module` (eval) on `images`."""
    reference = module.eval()(images)
    return check_outputs(reference, standalone_outputs(files, images, threads), tolerances)
