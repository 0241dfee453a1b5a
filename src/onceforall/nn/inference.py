"""Fast evaluation of a throwaway network copy: CPU chunks, folded BN, in-place activations.

Accuracy datasets evaluate thousands of sub-networks, each a fresh static copy that is
re-calibrated, evaluated once and dropped, so the copy may be rewritten for speed. Folding and
in-place activations assume that every nn.Sequential in it is only called whole, as in the
library's own static networks (`Supernet.static_sequentials_called_whole`); a user network's
forward may reach inside one, and its copy is left as it is.

- Chunks. A forward pass allocates a fresh tensor for every layer's output. glibc serves blocks
  above its mmap threshold (32 MiB at most) with fresh pages, returns them when freed, and the
  kernel zero-fills every page again on first touch: at 500 images of 32 px the wide layers of the
  small-input OFA-MobileNetV3 are such blocks, and the page faults cost about as much as the
  arithmetic. In chunks of about 100 images at 32 px the layers stay in the reused heap and
  closer to the caches. In eval mode an image's output does not depend on the other images of its
  batch, so chunking changes no prediction; oneDNN may pick another convolution algorithm for
  another batch size, which moves logits by float rounding at most (bit-identical where measured).
  CUDA keeps its own caching allocator: there the whole batch runs at once.
- Folded batch norms. In eval mode a BN right after a convolution is an affine map per channel,
  which the convolution's weight and bias absorb: one pass over the activations fewer per layer.
  Logits change by float rounding (about 1e-5 of their scale).
- Matrix products for pooled features. A 1x1 convolution of a 1x1 input (after global pooling:
  squeeze-excite, MobileNetV3's head) is a matrix product, 1.5-1.8x faster as one than through
  oneDNN's convolution (float rounding differs).
- In-place activations. An activation right after a convolution or BN reads a tensor nothing else
  reads, so it may overwrite it: one allocation fewer per layer, also during BN re-calibration,
  where batches run whole. Bit-identical.

Together they make `Evaluator.evaluate` about twice as fast on CPU as the straightforward static
copy + `recalibrate_bn` + whole-batch evaluation, with the same accuracies
(benchmarks/bench_accuracy_dataset.py -> benchmarks/results/accuracy_dataset.json).
"""

from __future__ import annotations

import itertools
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

ModuleT = TypeVar("ModuleT", bound=nn.Module)

# Input pixels per forward on CPU. Measured (1 thread, 1000 images, small-input OFA-MobileNetV3):
# 96 images at 32 px and 170 at 24 px are as fast as any smaller chunk; 128 at 32 px and 256 at
# 24 px are 1.5x slower, 500 at either 2-2.5x.
CPU_PIXELS_PER_FORWARD = 96 * 32 * 32

# Stock activations with an `inplace` switch and an elementwise, shape-keeping forward.
IN_PLACE_ACTIVATIONS = (
    nn.ReLU,
    nn.ReLU6,
    nn.Hardtanh,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.SiLU,
    nn.LeakyReLU,
    nn.ELU,
)


def forward_chunk_size(images: Tensor) -> int:
    """Images per forward pass for the batch `images` (N x C x H x W): the whole batch off CPU."""
    if images.device.type != "cpu":
        return max(1, images.shape[0])
    pixels = images.shape[-2] * images.shape[-1]
    return max(1, min(images.shape[0], CPU_PIXELS_PER_FORWARD // max(pixels, 1)))


@torch.no_grad()
def predicted_classes(model: nn.Module, images: Tensor) -> Tensor:
    """`model(images).argmax(dim=1)`, computed in chunks of `forward_chunk_size(images)`."""
    size = forward_chunk_size(images)
    return torch.cat([model(chunk).argmax(dim=1) for chunk in images.split(size)])


class PointwiseConv2d(nn.Conv2d):
    """A 1x1 convolution (stride 1, no padding, one group) that multiplies matrices when its
    input is 1 x 1 pixels, and convolves otherwise."""

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2:] != (1, 1):
            return super().forward(x)
        return F.linear(x.flatten(1), self.weight.flatten(1), self.bias)[:, :, None, None]


def pointwise_as_matrix_products(model: ModuleT) -> ModuleT:
    """Make every stock 1x1 convolution of `model` a `PointwiseConv2d` (in place, parameters
    kept; returns `model`): it computes the same function, up to float rounding."""
    for module in model.modules():
        if (
            type(module) is nn.Conv2d
            and module.kernel_size == (1, 1)
            and module.stride == (1, 1)
            and module.padding == (0, 0)
            and module.dilation == (1, 1)
            and module.groups == 1
        ):
            module.__class__ = PointwiseConv2d  # same fields, another forward
    return model


_FRESH_OUTPUT = (nn.Conv2d, PointwiseConv2d, nn.BatchNorm2d)  # layers returning a new tensor


def _sequentials(model: nn.Module) -> list[nn.Sequential]:
    return [module for module in model.modules() if type(module) is nn.Sequential]


def activations_in_place(model: ModuleT) -> ModuleT:
    """Switch on `inplace` of every stock activation that directly follows a stock convolution or
    batch norm inside an nn.Sequential (in place; returns `model`). The Sequential hands the
    activation that layer's freshly allocated output and passes on only the activation's."""
    for sequential in _sequentials(model):
        children = list(sequential.children())
        for before, activation in itertools.pairwise(children):
            if type(before) in _FRESH_OUTPUT and type(activation) in IN_PLACE_ACTIVATIONS:
                activation.inplace = True  # type: ignore[assignment]
    return model


@torch.no_grad()
def fold_batch_norms(model: ModuleT) -> ModuleT:
    """Fold every eval-mode nn.BatchNorm2d that directly follows an nn.Conv2d inside an
    nn.Sequential into that convolution, and remove it (in place; returns `model`).

    For evaluation copies only: the folded network computes the same function in eval mode (up to
    float rounding), but its state dict has other keys and its BNs are gone, so it can no longer be
    re-calibrated or trained as before. Batch norms in training mode are left alone.
    """
    for sequential in _sequentials(model):
        named = list(sequential.named_children())
        for (conv_name, conv), (bn_name, bn) in itertools.pairwise(named):
            if (
                isinstance(conv, nn.Conv2d)
                and type(conv) in (nn.Conv2d, PointwiseConv2d)
                and type(bn) is nn.BatchNorm2d
                and not (conv.training or bn.training)
                and bn.track_running_stats
            ):
                setattr(sequential, conv_name, fuse_conv_bn_eval(conv, bn))
                delattr(sequential, bn_name)
    return model
