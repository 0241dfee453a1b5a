"""The compact string form of a ResNet arch, e.g.
``r224-s3m0.65w1.0-w0.65:e0.2_e0.25-w0.8:e0.25_e0.2_e0.35-w1.0:e0.2_e0.2_e0.2_e0.2-w1.0:e0.35_e0.35``.

Grammar (no spaces)::

    arch    := "r" INT "-" stem ("-" stage)+      resolution, stem, stages
    stem    := "s" INT "m" DECIMAL "w" DECIMAL    depth (3 with the residual conv, 2 without),
                                                   mid width multiplier, output width multiplier
    stage   := "w" DECIMAL ":" block ("_" block)*  width multiplier, then the blocks that run
    block   := "e" DECIMAL                         expand ratio
    INT     := decimal digits without leading zeros
    DECIMAL := INT "." digits                      always with a fraction: 1.0, 0.65

Parsing is strict: anything else is a CodecError naming the position (0-based) and what was
expected. Numbers are written in Python's shortest round-trip form, so parse(format(a)) == a.
"""

from __future__ import annotations

from onceforall.arch.codec import TextReader, read_resolution
from onceforall.arch.resnet import ResNetArch, ResNetStage, ResNetStem


def format_decimal(value: float) -> str:
    text = repr(float(value))
    if "e" in text or "n" in text:  # 1e-05, inf, nan: not in any space; keep the grammar anyway
        text = f"{float(value):.12f}".rstrip("0")
        text += "0" if text.endswith(".") else ""
    return text


def format_resnet(arch: ResNetArch) -> str:
    stem = arch.stem
    parts = [
        f"r{arch.resolution}",
        f"s{stem.depth}m{format_decimal(stem.mid_width_multiplier)}"
        f"w{format_decimal(stem.width_multiplier)}",
    ]
    for stage in arch.stages:
        blocks = "_".join(f"e{format_decimal(e)}" for e in stage.expand_ratios)
        parts.append(f"w{format_decimal(stage.width_multiplier)}:{blocks}")
    return "-".join(parts)


def parse_resnet(text: str) -> ResNetArch:
    reader, resolution = read_resolution(text)
    reader.expect("-")
    reader.expect("s")
    depth = reader.number("stem depth")
    reader.expect("m")
    mid = reader.decimal("stem mid width multiplier")
    reader.expect("w")
    width = reader.decimal("stem width multiplier")
    stages: list[ResNetStage] = []
    while reader.peek() == "-":
        reader.pos += 1
        reader.expect("w")
        multiplier = reader.decimal("width multiplier")
        reader.expect(":")
        stages.append(ResNetStage(multiplier, tuple(reader.separated(_parse_block, "_"))))
    if reader.pos != len(text):
        raise reader.fail("'-', '_' or the end")
    if not stages:
        raise reader.fail("'-' and a stage")
    return ResNetArch(resolution, ResNetStem(depth, mid, width), tuple(stages))


def _parse_block(reader: TextReader) -> float:
    reader.expect("e")
    return reader.decimal("expand ratio")
