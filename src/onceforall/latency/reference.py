"""The reference implementation's latency lookup tables (YAML), as a vectorized LatencyModel.

The reference release ships per-operator mean latencies measured on phones: for OFA-MobileNetV3
w1.2 on a Note10, one file per resolution (ofa/note10/{160,...,224}_lookup_table.yaml), and for the
ProxylessNAS space one file at 224 px (proxylessnas/mobile_trim.yaml). An entry is keyed by the
operator's shape, e.g.

    Conv-input:160x160x3-output:80x80x24
    expanded_conv-input:10x10x136-output:10x10x136-expand:408-kernel:3-stride:1-idskip:1-se:1-hs:1
    Conv_1-input:5x5x192-output:5x5x1152   (then AvgPool2D-..., Conv_2-..., Logits-...)

and holds the mean (ms), a spread and a sample count. The reference predicts a network's latency as
the sum of the means of its stem, blocks and head operators; so does this module, for any MBv3Space
whose layout the table covers. Two key dialects exist: MobileNetV3 tables give a block's expanded
width (`expand:408`) plus `se` and `hs` flags; ProxylessNAS tables give the expand ratio
(`expand:6`) and no flags. The dialect is read from the table itself.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml

from onceforall.arch.mbv3 import MBv3Space
from onceforall.errors import LatencyTableError
from onceforall.families.mbv3_operators import BlockOp, HeadOp, StemOp, mbv3_operator_grid
from onceforall.latency.model import LatencyModel, ResolutionTable

Dialect = Literal["mbv3", "proxyless"]

_STEM_KEY = re.compile(r"^Conv-input:(\d+)x(\d+)x\d+-output:")


def read_reference_yaml(path: Path) -> dict[str, float]:
    """Operator key -> mean latency (ms) of one reference YAML file."""
    try:
        with path.open() as stream:
            content = yaml.load(stream, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except OSError as error:
        raise LatencyTableError(f"cannot read {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise LatencyTableError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(content, dict) or not content:
        raise LatencyTableError(f"{path} is not a latency lookup table (a mapping of operators)")
    means = {}
    for key, entry in content.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("mean"), (int, float)):
            raise LatencyTableError(f"{path}: entry {key!r} has no numeric 'mean'")
        mean = float(entry["mean"])
        if not math.isfinite(mean) or mean < 0:
            raise LatencyTableError(f"{path}: entry {key!r} has mean {mean} (not a latency)")
        means[str(key)] = mean
    return means


def table_resolution(path: Path, means: Mapping[str, float]) -> int:
    """The input resolution of a table, read from its stem key (`Conv-input:RxRx3-...`)."""
    found = {int(m.group(1)) for key in means if (m := _STEM_KEY.match(key))}
    if len(found) != 1:
        raise LatencyTableError(
            f"{path}: expected exactly one stem entry 'Conv-input:RxRx3-...', found {len(found)}"
        )
    return found.pop()


def table_dialect(means: Mapping[str, float]) -> Dialect:
    blocks = [key for key in means if key.startswith("expanded_conv-")]
    return "mbv3" if any("-se:" in key for key in blocks) else "proxyless"


def _shape(size: int, channels: int) -> str:
    return f"{size}x{size}x{channels}"


def stem_keys(op: StemOp) -> list[str]:
    return [
        f"Conv-input:{_shape(op.input_size, op.in_channels)}"
        f"-output:{_shape(op.output_size, op.out_channels)}"
    ]


def block_keys(op: BlockOp, expand_ratio: int, dialect: Dialect) -> list[str]:
    key = (
        f"expanded_conv-input:{_shape(op.input_size, op.in_channels)}"
        f"-output:{_shape(op.output_size, op.out_channels)}"
    )
    if dialect == "mbv3":
        key += f"-expand:{op.mid_channels}"
    else:
        key += f"-expand:{expand_ratio}"
    key += f"-kernel:{op.kernel_size}-stride:{op.stride}-idskip:{int(op.residual)}"
    if dialect == "mbv3":
        key += f"-se:{int(op.use_se)}-hs:{int(op.activation == 'hswish')}"
    return [key]


def head_keys(op: HeadOp) -> list[str]:
    """MobileNetV3 heads: Conv_1, AvgPool2D, Conv_2, Logits; ProxylessNAS: Conv_1, Logits."""
    if op.pre_pool_channels == 0:
        raise LatencyTableError(
            "the reference tables have no entry for a head without a 1x1 conv before pooling"
        )
    size, pre, post = op.input_size, op.pre_pool_channels, op.post_pool_channels
    keys = [f"Conv_1-input:{_shape(size, op.in_channels)}-output:{_shape(size, pre)}"]
    if post == 0:  # the reference's ProxylessNAS 'Logits' covers pooling and the classifier
        return [*keys, f"Logits-input:{_shape(size, pre)}-output:{op.num_classes}"]
    return [
        *keys,
        f"AvgPool2D-input:{_shape(size, pre)}-output:{_shape(1, pre)}",
        f"Conv_2-input:{_shape(1, pre)}-output:{_shape(1, post)}",
        f"Logits-input:{_shape(1, post)}-output:{op.num_classes}",
    ]


def _resolution_latency(
    space: MBv3Space, resolution: int, means: Mapping[str, float], path: Path
) -> ResolutionTable:
    grid = mbv3_operator_grid(space.layout, resolution, space.kernel_sizes, space.expand_ratios)
    dialect = table_dialect(means)
    missing: list[str] = []

    def total(keys: list[str]) -> float:
        found = [means[key] for key in keys if key in means]
        missing.extend(key for key in keys if key not in means)
        return float(sum(found))

    fixed_ms = (
        total(stem_keys(grid.stem))
        + total(block_keys(grid.first_block, 1, dialect))
        + total(head_keys(grid.head))
    )
    slot_ms = np.array(
        [
            [
                [
                    total(block_keys(op, e, dialect))
                    for op, e in zip(row, grid.expand_ratios, strict=True)
                ]
                for row in per_kernel
            ]
            for per_kernel in grid.slots
        ],
        dtype=np.float64,
    ).reshape(len(grid.slots), len(grid.kernel_sizes), len(grid.expand_ratios))
    if missing:
        distinct = sorted(set(missing))
        raise LatencyTableError(
            f"{path} does not cover this space at {resolution} px: {len(distinct)} operators "
            f"missing, e.g. {distinct[0]} (the table was measured for another layout or choices)"
        )
    return ResolutionTable(resolution, fixed_ms, slot_ms)


def reference_table_files(path: Path) -> list[Path]:
    """The YAML files of a reference table: the file itself, or those of a directory."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
        if not files:
            raise LatencyTableError(f"no reference latency tables (*.yaml) in {path}")
        return files
    if not path.is_file():
        raise LatencyTableError(f"no such latency table: {path}")
    return [path]


def load_reference_tables(path: Path, space: MBv3Space) -> LatencyModel:
    """A LatencyModel predicting, for sub-networks of `space`, what the reference's table does.

    `path` is one reference YAML file or a directory of them (one per resolution). The model's
    space keeps only the resolutions the tables cover; other resolutions raise LatencyTableError.
    """
    by_resolution: dict[int, tuple[Path, dict[str, float]]] = {}
    for file in reference_table_files(path):
        means = read_reference_yaml(file)
        resolution = table_resolution(file, means)
        if resolution in by_resolution:
            raise LatencyTableError(
                f"{file} and {by_resolution[resolution][0]} both hold tables for {resolution} px"
            )
        by_resolution[resolution] = (file, means)
    covered = sorted(set(by_resolution) & set(space.resolutions))
    if not covered:
        raise LatencyTableError(
            f"{path} holds tables for resolutions {sorted(by_resolution)}, none of which is in "
            f"the space's resolutions {list(space.resolutions)}"
        )
    tables = {
        r: _resolution_latency(space, r, by_resolution[r][1], by_resolution[r][0]) for r in covered
    }
    metadata: dict[str, Any] = {
        "format": "reference-yaml",
        "dialect": table_dialect(by_resolution[covered[0]][1]),
        "files": [str(by_resolution[r][0]) for r in covered],
    }
    return LatencyModel(space.restrict(resolutions=covered), tables, str(path), None, metadata)
