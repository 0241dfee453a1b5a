"""Sub-network evaluation: BN re-calibration on 2000 images + held-out accuracy, vs the reference.

    python benchmarks/bench_bn_recalibration.py [--resolution 64] [--images 2000] [--threads 2]

The max OFA-MobileNetV3 w1.0 sub-network (10 classes, random weights with O(1) BN statistics),
re-calibrated on the same 2000 Fashion-MNIST training images (resized to --resolution, 3
channels) and evaluated on 2000 held-out images, batch 200. Reference: extract the sub-network
(`get_active_subnet`), `set_running_statistics`, evaluate. onceforall: what `Evaluator.evaluate`
does for every sub-network of `ofa predictor dataset` (static copy, channels_last,
`recalibrate_bn`, evaluate). Data preparation is outside the timings on both sides. Writes
benchmarks/results/bn_recalibration.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from onceforall.atomic_files import atomic_write_json
from onceforall.compat.reference_oracle import import_reference
from onceforall.data import calibration_loader, eval_loader, load_fashion_mnist, split_holdout
from onceforall.models.registry import create_supernet
from onceforall.nn.bn import recalibrate_bn


def batches(
    resolution: int, images: int, batch: int
) -> tuple[list[torch.Tensor], list[tuple[torch.Tensor, torch.Tensor]]]:
    data = load_fashion_mnist()
    train, holdout = split_holdout(data, 5000, seed=0)
    calibration = [
        b.images.contiguous()
        for b in calibration_loader(train, resolution, count=images, batch_size=batch)
    ]
    evaluation = [
        (b.images.contiguous(), b.labels)
        for b in eval_loader(holdout.subset(torch.arange(images).numpy()), resolution, batch)
    ]
    return calibration, evaluation


def accuracy(
    model: torch.nn.Module, evaluation: list[tuple[torch.Tensor, torch.Tensor]], channels_last: bool
) -> float:
    correct = total = 0
    with torch.no_grad():
        for images, labels in evaluation:
            if channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            correct += int((model(images).argmax(1) == labels).sum())
            total += len(labels)
    return correct / total


def reference_once(
    reference: Any,
    calibration: list[torch.Tensor],
    evaluation: list[tuple[torch.Tensor, torch.Tensor]],
) -> tuple[float, float]:
    utils = import_reference("ofa.imagenet_classification.elastic_nn.utils")
    start = time.perf_counter()
    subnet = reference.get_active_subnet()
    utils.set_running_statistics(subnet, [(images, None) for images in calibration])
    subnet.eval()
    top1 = accuracy(subnet, evaluation, channels_last=False)
    return time.perf_counter() - start, top1


def ours_once(
    net: Any, calibration: list[torch.Tensor], evaluation: list[tuple[torch.Tensor, torch.Tensor]]
) -> tuple[float, float]:
    start = time.perf_counter()
    model = net.static(net.space.max()).to(memory_format=torch.channels_last)
    recalibrate_bn(
        model, [images.contiguous(memory_format=torch.channels_last) for images in calibration]
    )
    model.eval()
    top1 = accuracy(model, evaluation, channels_last=True)
    return time.perf_counter() - start, top1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/bn_recalibration.json")
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    calibration, evaluation = batches(args.resolution, args.images, args.batch_size)

    networks = import_reference()
    reference = networks.OFAMobileNetV3(
        n_classes=10,
        dropout_rate=0,
        width_mult=1.0,
        ks_list=[3, 5, 7],
        expand_ratio_list=[3, 4, 6],
        depth_list=[2, 3, 4],
    )
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, tensor in reference.state_dict().items():
            if tensor.dtype.is_floating_point and tensor.dim() >= 2 and "matrix" not in name:
                tensor.copy_(
                    torch.randn(tensor.shape, generator=generator) / tensor[0].numel() ** 0.5
                )
    reference.set_max_net()
    reference.eval()
    ours = create_supernet("ofa_mbv3_w10", num_classes=10, dropout=0.0)
    ours.load_reference_state_dict(reference.state_dict())
    ours.eval()

    rows: dict[str, list[float]] = {"reference": [], "onceforall": []}
    tops: dict[str, float] = {}
    for _ in range(args.repeats):  # interleaved, so load drift hits both alike
        seconds, tops["reference"] = reference_once(reference, calibration, evaluation)
        rows["reference"].append(seconds)
        seconds, tops["onceforall"] = ours_once(ours, calibration, evaluation)
        rows["onceforall"].append(seconds)
    ref, our = statistics.median(rows["reference"]), statistics.median(rows["onceforall"])
    result = {
        "command": "python benchmarks/bench_bn_recalibration.py",
        "resolution": args.resolution,
        "calibration_images": args.images,
        "eval_images": args.images,
        "threads": args.threads,
        "reference_seconds": round(ref, 3),
        "onceforall_seconds": round(our, 3),
        "speedup": round(ref / our, 2),
        "reference_top1": tops["reference"],
        "onceforall_top1": tops["onceforall"],
        "all_seconds": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out, result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
