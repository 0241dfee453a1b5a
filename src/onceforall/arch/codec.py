"""The compact string form of an architecture, e.g. ``r160-k3e4_k5e6-k7e3_k3e3_k5e4-...``.

Grammar (no spaces): ``r<resolution>`` then, per stage, ``-`` and its blocks joined by ``_``, each
block ``k<kernel size>e<expand ratio>``. Numbers are decimal without leading zeros. Parsing is
strict: anything else is a CodecError that names the position (0-based) and what was expected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from onceforall.arch.mbv3 import MBv3Arch, MBv3Block
from onceforall.errors import CodecError

T = TypeVar("T")


def format_mbv3(arch: MBv3Arch) -> str:
    stages = (
        "_".join(f"k{b.kernel_size}e{b.expand_ratio}" for b in stage) for stage in arch.stages
    )
    return "-".join([f"r{arch.resolution}", *stages])


class TextReader:
    """A cursor over the text that raises CodecError with the position."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, expected: str) -> CodecError:
        found = repr(self.text[self.pos]) if self.pos < len(self.text) else "end of text"
        return CodecError(
            f"bad arch string {self.text!r}: at position {self.pos} expected {expected}, "
            f"found {found}"
        )

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.fail(repr(char))
        self.pos += 1

    def number(self, what: str) -> int:
        start = self.pos
        while self.peek().isdigit() and self.peek().isascii():
            self.pos += 1
        digits = self.text[start : self.pos]
        if not digits:
            raise self.fail(f"a number ({what})")
        if len(digits) > 1 and digits[0] == "0":
            self.pos = start
            raise self.fail(f"a number without leading zeros ({what})")
        return int(digits)

    def separated(self, item: Callable[[TextReader], T], separator: str) -> list[T]:
        """One item, then more as long as `separator` follows."""
        items = [item(self)]
        while self.peek() == separator:
            self.pos += 1
            items.append(item(self))
        return items

    def decimal(self, what: str) -> float:
        """A number with a fractional part, e.g. ``0.65`` or ``1.0``."""
        start = self.pos
        self.number(what)
        if self.peek() != ".":
            raise self.fail(f"'.' and the fraction of a decimal number ({what})")
        self.pos += 1
        fraction = self.pos
        while self.peek().isdigit() and self.peek().isascii():
            self.pos += 1
        if self.pos == fraction:
            raise self.fail(f"the digits after '.' ({what})")
        return float(self.text[start : self.pos])


def read_resolution(text: str) -> tuple[TextReader, int]:
    """A reader over an arch string, past its leading ``r<resolution>``."""
    if not isinstance(text, str):
        raise CodecError(f"an arch string is a str, got {type(text).__name__}")
    reader = TextReader(text)
    reader.expect("r")
    return reader, reader.number("resolution")


def parse_mbv3(text: str) -> MBv3Arch:
    reader, resolution = read_resolution(text)
    stages: list[tuple[MBv3Block, ...]] = []
    while reader.peek() == "-":
        reader.pos += 1
        stages.append(tuple(reader.separated(_parse_block, "_")))
    if reader.pos != len(text):
        raise reader.fail("'-', '_' or the end")
    if not stages:
        raise reader.fail("'-' and a stage")
    return MBv3Arch(resolution, tuple(stages))


def _parse_block(reader: TextReader) -> MBv3Block:
    reader.expect("k")
    kernel_size = reader.number("kernel size")
    reader.expect("e")
    expand_ratio = reader.number("expand ratio")
    return MBv3Block(kernel_size, expand_ratio)
