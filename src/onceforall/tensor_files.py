"""Reading tensor files (checkpoints, predictors, fine-tuned models) safely, with short errors.

Every file is read with ``torch.load(weights_only=True)``: tensors and plain values only, never
arbitrary pickled objects. Torch's own messages for a file it refuses run over many lines and
advise ``weights_only=False``; `read_tensor_file` says what went wrong in one line instead.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from onceforall.errors import OnceForAllError


def summarize_load_error(error: BaseException) -> str:
    """One line for a failed ``torch.load``, without torch's advice to unpickle anything."""
    text = str(error)
    if "Weights only load failed" in text:
        detail = text.rpartition("WeightsUnpickler error:")[2].strip().splitlines()
        reason = detail[0].strip() if detail and detail[0].strip() else "not allowed"
        return (
            "not a tensor file, or one holding objects that are never unpickled "
            f"(weights_only loading: {reason})"
        )
    if isinstance(error, EOFError):
        return "the file is empty or cut short"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def read_tensor_file(path: Path, error: type[OnceForAllError], what: str) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU; `error` in one line on any failure."""
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. the pickle protocol note of foreign files
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as failure:  # torch raises many types for corrupt or foreign files
        raise error(f"cannot read {what} {path}: {summarize_load_error(failure)}") from None
