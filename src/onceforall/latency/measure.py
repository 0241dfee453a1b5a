"""Timing torch modules on this machine with the torch or onnxruntime backend.

Each module becomes a runner (a no-argument call on a fixed random input). Runners of one batch
are warmed up, then timed in interleaved rounds, each round in a fresh order drawn from a seeded
generator, so that slow drifts of the machine (other processes, frequency changes) spread over
all of them instead of biasing whichever ran last. Statistics: median, interquartile range, min.

How many calls in a row an operator gets matters, and differently per backend. Measured on
ofa_mbv3_w10_small_input, 1 thread, 30 validation networks, min statistic, table sum without
correction, on a shared 2-core machine (benchmarks/results/latency/ablation_*.json, from
`python benchmarks/bench_latency.py --backends B --threads 1 --rounds R --n 30 ...`):
- torch: an operator called many times in a row keeps its Python module code and its weights hot,
  unlike inside a network where other layers run in between: 10 calls in a row (5 rounds) gave a
  MAPE of 26.7%; one call per operator per round over a batch of all operators (rounds =
  repetitions, the torch default) gave 2.4% (Kendall tau 0.92).
- onnxruntime: operators are short C++ kernels whose buffers go cold when interleaved one call at
  a time (MAPE 135%); 10 calls in a row (5 rounds, the onnxruntime default) gave 7.2%.
Whole networks are timed several calls in a row (validation), as they run when deployed.
"""

from __future__ import annotations

import contextlib
import gc
import io
import platform
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from onceforall.errors import LatencyTableError
from onceforall.latency.settings import Backend, MeasureSettings
from onceforall.latency.table import OperatorTiming

Runner = Callable[[], Any]
CALIBRATION_BATCHES = 4  # random inputs that calibrate an operator for the onnxruntime-int8 backend


def backend_versions(backend: Backend) -> dict[str, str]:
    versions = {"torch": str(torch.__version__)}
    if backend != "torch":
        versions["onnxruntime"] = _onnxruntime().__version__
    return versions


def machine_description() -> dict[str, Any]:
    import os

    return {
        "system": platform.system(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }


def _onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise LatencyTableError(
            "the onnxruntime backend needs onnx and onnxruntime: pip install 'onceforall[deploy]'"
        ) from None
    return onnxruntime


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """torch's intra-op thread count inside the block, the previous one afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def onnx_bytes(module: nn.Module, example: torch.Tensor) -> bytes:
    """The module as an in-memory ONNX model (TorchScript exporter, one input 'x')."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (example,),
            buffer,  # type: ignore[arg-type]  # the TorchScript exporter takes file objects
            input_names=["x"],
            output_names=["y"],
            opset_version=17,
            dynamo=False,
        )
    return buffer.getvalue()


def make_runner(
    module: nn.Module, input_shape: Sequence[int], settings: MeasureSettings, seed: int
) -> Runner:
    """A call of `module` (eval mode, no autograd) on a fixed random input of `input_shape`."""
    module = module.eval()
    generator = torch.Generator().manual_seed(seed)
    example = torch.randn((settings.batch_size, *input_shape), generator=generator)
    if settings.backend == "torch":
        # Exported networks are fx GraphModules (leaf modules called from generated code); trace
        # operators the same way so both pay the same per-call overhead. TorchScript modules
        # (e.g. an exported .torchscript.pt) run as they are.
        traced = (
            module
            if isinstance(module, (torch.fx.GraphModule, torch.jit.ScriptModule))
            else torch.fx.symbolic_trace(module)
        )

        def run_torch() -> Any:
            return traced(example)

        return run_torch
    _onnxruntime()  # a clear error before exporting, when onnxruntime is missing
    with torch.no_grad():
        model = onnx_bytes(module, example)
    if settings.backend == "onnxruntime-int8":
        model = quantized_operator(model, tuple(example.shape), seed)
    return onnxruntime_runner(model, example, settings.threads)


def quantized_operator(model: bytes, shape: tuple[int, ...], seed: int) -> bytes:
    """`model` quantized as export quantizes, calibrated on seeded random inputs of `shape`
    (calibration sets the scales; the integer kernels do the same work for any values)."""
    from onceforall.latency.onnx_int8 import Int8Settings, quantize_onnx_bytes

    rng = np.random.default_rng([seed, 8])
    batches = [rng.standard_normal(shape, dtype=np.float32) for _ in range(CALIBRATION_BATCHES)]
    return quantize_onnx_bytes(model, batches, Int8Settings())


def onnxruntime_runner(model: bytes | str, example: torch.Tensor, threads: int) -> Runner:
    """A call of an ONNX model (bytes, or a file path) on `example`, fed to its first input."""
    ort = _onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Many sessions are timed in turn: idle worker threads must not spin and steal the cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: example.numpy()}

    def run_onnxruntime() -> Any:
        return session.run(None, feed)

    return run_onnxruntime


def timing_from_samples(samples_ns: Sequence[int]) -> OperatorTiming:
    ms = np.asarray(samples_ns, dtype=np.float64) / 1e6
    q25, median, q75 = np.percentile(ms, [25, 50, 75])
    return OperatorTiming(float(median), float(q75 - q25), float(ms.min()), len(ms))


def round_sizes(settings: MeasureSettings) -> list[int]:
    """Timed calls per runner in each round (the repetitions spread evenly over the rounds)."""
    base, extra = divmod(settings.repetitions, settings.rounds)
    return [base + (r < extra) for r in range(settings.rounds)]


def warm_up(runners: Sequence[Runner], settings: MeasureSettings) -> None:
    with torch_threads(settings.threads), torch.inference_mode():
        for runner in runners:
            for _ in range(settings.warmup):
                runner()


def time_round(
    runners: Sequence[Runner],
    calls: int,
    settings: MeasureSettings,
    rng: np.random.Generator,
    on_runner: Callable[[], None] | None = None,
) -> list[list[int]]:
    """One round: every runner timed `calls` times in a row, runners in a random order (ns)."""
    samples: list[list[int]] = [[] for _ in runners]
    clock = time.perf_counter_ns
    gc_was_enabled = gc.isenabled()
    with torch_threads(settings.threads), torch.inference_mode():
        gc.disable()
        try:
            for index in rng.permutation(len(runners)).tolist():
                runner, own = runners[index], samples[index]
                for _ in range(calls):
                    start = clock()
                    runner()
                    own.append(clock() - start)
                if on_runner is not None:
                    on_runner()
        finally:
            if gc_was_enabled:
                gc.enable()
    return samples


def time_runners(
    runners: Sequence[Runner],
    settings: MeasureSettings,
    rng: np.random.Generator,
    on_runner: Callable[[], None] | None = None,
) -> list[OperatorTiming]:
    """Warm up every runner, then time them in `settings.rounds` interleaved, shuffled rounds."""
    warm_up(runners, settings)
    samples: list[list[int]] = [[] for _ in runners]
    for calls in round_sizes(settings):
        for own, new in zip(
            samples, time_round(runners, calls, settings, rng, on_runner), strict=True
        ):
            own.extend(new)
    return [timing_from_samples(s) for s in samples]
