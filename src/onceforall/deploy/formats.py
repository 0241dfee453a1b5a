"""Writing an exported sub-network (a torch.fx GraphModule of stock modules) in each format.

    pytorch      model.pt              the pickled GraphModule (torch.load, weights_only=False)
                 state_dict.pt         its weights alone (weights_only=True), keys of `net.static`
    torchscript  model.torchscript.pt  `torch.jit.load(path)`
    onnx         model.onnx            `onnxruntime.InferenceSession(path)`; input "images"
                                       (batch x 3 x R x R, dynamic batch), output "logits"

TorchScript: `torch.jit.script` of the GraphModule. The GraphModule's generated code is
straight-line and scriptable for every family (MobileNetV3, ProxylessNAS, ResNet); scripting keeps
every shape symbolic (any batch, any resolution) and fails loudly on anything it cannot compile,
where `torch.jit.trace` would silently freeze Python-side values seen on the example batch.

ONNX: the TorchScript-based exporter (`dynamo=False`), opset 17, with `dynamic_axes` for the
batch. On torch 2.13 the dynamo exporter needs the extra package onnxscript, translates at opset
18 whatever is asked and logs a traceback when converting down to 17, and took 14.0 s instead of
2.9 s for the largest OFA-MobileNetV3 w1.0 sub-network (once, on a shared 2-core machine); the
TorchScript-based one needs only torch and onnx and works for every family.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from onceforall.deploy.export_config import Format

ONNX_OPSET = 17
INPUT_NAME = "images"
OUTPUT_NAME = "logits"

FILES: dict[Format, tuple[str, ...]] = {
    "pytorch": ("model.pt", "state_dict.pt"),
    "torchscript": ("model.torchscript.pt",),
    "onnx": ("model.onnx",),
    "onnx-int8": ("model.int8.onnx",),  # written by deploy/int8.py (it needs calibration images)
}


def model_file(name: Format) -> str:
    """The file of a format that runs the model (the first of FILES)."""
    return FILES[name][0]


def write_pytorch(module: torch.fx.GraphModule, directory: Path, example: torch.Tensor) -> None:
    torch.save(module, directory / FILES["pytorch"][0])
    state = {k: v.detach().clone() for k, v in module.state_dict().items()}
    torch.save(state, directory / FILES["pytorch"][1])


def write_torchscript(module: torch.fx.GraphModule, directory: Path, example: torch.Tensor) -> None:
    with warnings.catch_warnings():
        # torch 2.13 marks TorchScript deprecated; it still is what C++/mobile runtimes load.
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(module), str(directory / model_file("torchscript")))


def load_torchscript(path: Path) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated in torch 2.13, see write_torchscript
        module = torch.jit.load(str(path))
    return module


def write_onnx(module: torch.fx.GraphModule, directory: Path, example: torch.Tensor) -> None:
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter is marked deprecated
        torch.onnx.export(
            module,
            (example,),
            str(directory / model_file("onnx")),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],  # also needed by dynamic_axes on a GraphModule
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )


WRITERS: dict[Format, Callable[[torch.fx.GraphModule, Path, torch.Tensor], None]] = {
    "pytorch": write_pytorch,
    "torchscript": write_torchscript,
    "onnx": write_onnx,
}


def write_formats(
    module: torch.fx.GraphModule,
    directory: Path,
    example: torch.Tensor,
    formats: tuple[Format, ...],
) -> list[str]:
    """Write every format of `formats` into `directory`; the file names written."""
    written: list[str] = []
    for name in formats:
        if name not in WRITERS:
            raise ValueError(f"{name} is not written here (see deploy/int8.py)")
        WRITERS[name](module, directory, example)
        written += FILES[name]
    return written
