"""Runs exported files in a process where `import onceforall` fails (verify.py starts it).

Its source is passed to `python -c` (so no package directory lands on sys.path); arguments:
IMAGES_PT OUTPUTS_PT THREADS FORMAT=FILE... It loads each file with torch or onnxruntime alone,
computes the logits of the images and saves {format: logits}. It imports nothing from
onceforall, and checks at the end that nothing did.
"""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder
from typing import Any


class BlockOnceForAll(MetaPathFinder):
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.split(".")[0] == "onceforall":
            raise ImportError("onceforall is blocked: exported files must load without it")


def run_format(name: str, path: str, images: Any) -> Any:
    import torch

    if name == "pytorch":
        model = torch.load(path, weights_only=False)  # a pickled torch.fx.GraphModule
    elif name == "torchscript":
        model = torch.jit.load(path)
    else:
        import onnxruntime

        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: images.numpy()}
        return torch.from_numpy(session.run(None, feed)[0])
    with torch.no_grad():
        return model.eval()(images)


def main(argv: list[str]) -> None:
    sys.meta_path.insert(0, BlockOnceForAll())
    import torch

    images_path, outputs_path, threads, *files = argv
    torch.set_num_threads(int(threads))
    images = torch.load(images_path, weights_only=True)
    outputs = {}
    for item in files:
        name, _, path = item.partition("=")
        outputs[name] = run_format(name, path, images)
    leaked = sorted(m for m in sys.modules if m.split(".")[0] == "onceforall")
    if leaked:
        raise SystemExit(f"onceforall modules were imported: {leaked}")
    torch.save(outputs, outputs_path)


if __name__ == "__main__":
    main(sys.argv[1:])
