"""The space of an elastified user network (torch-free): its arch value, genes and costs.

`onceforall.elastify` analyses a user's network once and describes what may change as genes:
the input resolution, the blocks kept per elastic stage (depth), the channels of each elastic
channel group (width) and the kernel size of each elastic convolution. An `ElastifiedArch` holds
one value per gene, in that order, with 0 for a gene whose block is dropped (so one network has
one encoding); its population row is the same numbers. Costs are counted from per-layer tables
(channels and kernel from genes or fixed, output positions per resolution), vectorized.

String form: ``r32-d2.1-w48.96.24-k5.3`` (sections empty for the space are left out; ``_`` marks
a gene whose block is dropped).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from onceforall.arch.space import Population, Space
from onceforall.errors import ArchError, CodecError

GeneKind = Literal["resolution", "depth", "width", "kernel"]
SECTIONS = (("d", "depth"), ("w", "width"), ("k", "kernel"))
Owner = tuple[int, int]  # (depth gene column, block position): active iff that gene > position


@dataclass(frozen=True)
class ElastifiedArch:
    """One sub-network of an elastified network: one value per gene (0: inside a dropped block)."""

    resolution: int
    depths: tuple[int, ...]  # blocks kept per elastic stage
    widths: tuple[int, ...]  # channels per elastic channel group
    kernel_sizes: tuple[int, ...]  # per elastic convolution

    def genes(self) -> tuple[int, ...]:
        return (self.resolution, *self.depths, *self.widths, *self.kernel_sizes)

    def __str__(self) -> str:
        parts = [f"r{self.resolution}"]
        for letter, values in zip(
            "dwk", (self.depths, self.widths, self.kernel_sizes), strict=True
        ):
            if values:
                parts.append(letter + ".".join(str(v) if v else "_" for v in values))
        return "-".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "resolution": self.resolution,
            "depths": list(self.depths),
            "widths": list(self.widths),
            "kernel_sizes": list(self.kernel_sizes),
        }


@dataclass(frozen=True)
class Gene:
    name: str  # what it sets: the stage, channel group or convolution it belongs to
    kind: GeneKind
    choices: tuple[int, ...]
    owners: tuple[Owner, ...] = ()  # every one must hold for the gene to be active
    ratios: tuple[float, ...] = ()  # width genes: the width ratio of each choice


@dataclass(frozen=True)
class LayerCost:
    """What one layer costs, given the genes: counted as the reference counts convs and linears."""

    path: str
    kind: str  # conv, depthwise, grouped, linear, batchnorm, other
    in_channels: int  # the largest (or fixed) count
    out_channels: int
    in_gene: int | None = None  # column of the gene setting the input channels
    out_gene: int | None = None
    kernel_size: int = 1
    kernel_gene: int | None = None
    groups: int = 1
    bias: bool = False
    positions: tuple[int, ...] = ()  # output positions (H x W) per resolution of the space
    fixed_params: int = 0  # layers counted as they are (kind "other")
    owners: tuple[Owner, ...] = ()


@dataclass(frozen=True)
class ElastifiedSpace(Space[ElastifiedArch]):
    """Genes (resolution first, then depth, width, kernel genes) and per-layer cost tables."""

    genes: tuple[Gene, ...]
    layers: tuple[LayerCost, ...]
    num_classes: int | None = None
    constant_params: int = 0  # parameters of layers the genes never change, outside any block

    def __post_init__(self) -> None:
        if not self.genes or self.genes[0].kind != "resolution":
            raise ArchError("an elastified space starts with its resolution gene")

    # --- structure ---------------------------------------------------------------------------

    @property
    def resolutions(self) -> tuple[int, ...]:  # type: ignore[override]
        return self.genes[0].choices

    def columns(self, kind: GeneKind) -> list[int]:
        return [i for i, gene in enumerate(self.genes) if gene.kind == kind]

    @property
    def population_width(self) -> int:
        return len(self.genes)

    def with_resolutions(self, resolutions: Iterable[int]) -> ElastifiedSpace:
        chosen = tuple(sorted(set(int(r) for r in resolutions)))
        unknown = sorted(set(chosen) - set(self.resolutions))
        if unknown or not chosen:
            raise ArchError(
                f"this network was elastified at resolutions {self.resolutions}, not {unknown}; "
                "elastify it again with the resolutions you need"
            )
        keep = [self.resolutions.index(r) for r in chosen]
        genes = (dataclasses.replace(self.genes[0], choices=chosen), *self.genes[1:])
        layers = tuple(
            dataclasses.replace(layer, positions=tuple(layer.positions[i] for i in keep))
            for layer in self.layers
        )
        return dataclasses.replace(self, genes=genes, layers=layers)

    def restrict(
        self,
        kernel_sizes: Sequence[float] | None = None,
        width_ratios: Sequence[float] | None = None,
        depth_drops: Sequence[float] | None = None,
        resolutions: Sequence[int] | None = None,
    ) -> ElastifiedSpace:
        """A sub-space (e.g. for a training phase). `kernel_sizes`: each convolution keeps these
        of its sizes (its largest when it has none of them); `width_ratios`: each group keeps the
        widths made from these ratios; `depth_drops`: each stage keeps its depth minus these."""
        genes = []
        for gene in self.genes:
            choices = gene.choices
            if gene.kind == "kernel" and kernel_sizes is not None:
                allowed = {int(k) for k in kernel_sizes}
                below = [c for c in choices if c <= max(allowed)]
                choices = tuple(c for c in choices if c in allowed) or (
                    (max(below),) if below else (min(choices),)
                )
            elif gene.kind == "width" and width_ratios is not None:
                wanted = {round(float(r), 6) for r in width_ratios}
                choices = tuple(
                    c
                    for c, r in zip(gene.choices, gene.ratios, strict=True)
                    if round(r, 6) in wanted
                ) or (max(gene.choices),)
            elif gene.kind == "depth" and depth_drops is not None:
                drops = {int(d) for d in depth_drops}
                choices = tuple(c for c in choices if max(gene.choices) - c in drops) or (
                    max(gene.choices),
                )
            genes.append(dataclasses.replace(gene, choices=tuple(sorted(set(choices)))))
        space = dataclasses.replace(self, genes=tuple(genes))
        return space if resolutions is None else space.with_resolutions(resolutions)

    # --- population form ---------------------------------------------------------------------

    def active(self, population: Population, column: int) -> np.ndarray:
        mask = np.ones(len(population), dtype=bool)
        for owner, position in self.genes[column].owners:
            mask &= population[:, owner] > position
        return mask

    def canonicalize(self, population: Population) -> Population:
        out = np.array(population, dtype=np.int32, copy=True)
        for column in range(len(self.genes)):  # owners (depth genes) precede what they own
            out[~self.active(out, column), column] = 0
        return out

    def _fill(self, population: Population, donor: Population) -> Population:
        out = np.array(population, dtype=np.int32, copy=True)
        for column, gene in enumerate(self.genes):
            missing = self.active(out, column) & (out[:, column] == 0)
            out[missing, column] = donor[missing, column]
            still = self.active(out, column) & (out[:, column] == 0)
            out[still, column] = max(gene.choices)
        return self.canonicalize(out)

    def _random_genes(self, n: int, rng: np.random.Generator) -> Population:
        columns = [rng.choice(gene.choices, size=n) for gene in self.genes]
        return np.stack(columns, axis=1).astype(np.int32).reshape(n, len(self.genes))

    def sample_population(self, n: int, rng: np.random.Generator) -> Population:
        return self.canonicalize(self._random_genes(n, rng))

    def mutate_population(
        self,
        population: Population,
        rng: np.random.Generator,
        prob: float = 0.1,
        resolution_prob: float = 0.5,
    ) -> Population:
        population = np.asarray(population, dtype=np.int32)
        fresh = self._random_genes(len(population), rng)
        chance = np.array([resolution_prob] + [prob] * (len(self.genes) - 1))
        mutate = rng.random(population.shape) < chance[None, :]
        return self._fill(np.where(mutate, fresh, population), fresh)

    def crossover_population(
        self, first: Population, second: Population, rng: np.random.Generator
    ) -> Population:
        first, second = np.asarray(first, dtype=np.int32), np.asarray(second, dtype=np.int32)
        take_first = rng.random(first.shape) < 0.5
        child = np.where(take_first, first, second)
        return self._fill(child, np.where(take_first, second, first))

    def contains_population(self, population: Population) -> np.ndarray:
        population = np.asarray(population)
        if population.ndim != 2 or population.shape[1] != len(self.genes):
            return np.zeros(len(population), dtype=bool)
        ok = np.ones(len(population), dtype=bool)
        for column, gene in enumerate(self.genes):
            genes = population[:, column]
            member = np.isin(genes, gene.choices)
            ok &= np.where(self.active(population, column), member, genes == 0)
        return ok

    def to_population(self, archs: Iterable[ElastifiedArch]) -> Population:
        rows = [arch.genes() for arch in archs]
        if not rows:
            return np.zeros((0, len(self.genes)), dtype=np.int32)
        if any(len(row) != len(self.genes) for row in rows):
            raise ArchError(f"an arch of this space has {len(self.genes)} genes")
        return np.asarray(rows, dtype=np.int32)

    def from_population(self, population: Population) -> list[ElastifiedArch]:
        depth, width, kernel = (self.columns(k) for k in ("depth", "width", "kernel"))
        return [
            ElastifiedArch(
                resolution=int(row[0]),
                depths=tuple(int(row[c]) for c in depth),
                widths=tuple(int(row[c]) for c in width),
                kernel_sizes=tuple(int(row[c]) for c in kernel),
            )
            for row in np.asarray(population)
        ]

    # --- costs -------------------------------------------------------------------------------

    def _counts(self, population: Population, what: Literal["macs", "params"]) -> np.ndarray:
        population = np.asarray(population, dtype=np.int64)
        lookup = {r: i for i, r in enumerate(self.resolutions)}
        try:
            res_index = np.array([lookup[int(r)] for r in population[:, 0]], dtype=np.int64)
        except KeyError as error:
            raise ArchError(f"resolution {error.args[0]} not in {self.resolutions}") from None
        total = np.full(len(population), 0 if what == "macs" else self.constant_params, np.int64)
        for layer in self.layers:
            cin = population[:, layer.in_gene] if layer.in_gene is not None else layer.in_channels
            cout = (
                population[:, layer.out_gene] if layer.out_gene is not None else layer.out_channels
            )
            k = (
                population[:, layer.kernel_gene]
                if layer.kernel_gene is not None
                else layer.kernel_size
            )
            if layer.kind == "depthwise":
                weights, outputs = cin * k * k, cin
            elif layer.kind in ("conv", "grouped"):
                weights, outputs = cout * (cin // layer.groups) * k * k, cout
            elif layer.kind == "linear":
                weights, outputs = cin * cout, cout
            elif layer.kind == "batchnorm":
                weights, outputs = 0, cin
            else:
                weights, outputs = 0, 0
            if what == "macs":
                positions = np.asarray(layer.positions, dtype=np.int64)[res_index]
                value = weights * positions if layer.kind != "batchnorm" else 0 * positions
            elif layer.kind == "batchnorm":
                value = 2 * outputs
            elif layer.kind == "other":
                value = layer.fixed_params
            else:
                value = weights + (outputs if layer.bias else 0)
            active = np.ones(len(population), dtype=bool)
            for owner, position in layer.owners:
                active &= population[:, owner] > position
            total += np.where(active, value, 0).astype(np.int64)
        return total

    def macs_population(self, population: Population) -> np.ndarray:
        return self._counts(population, "macs")

    def params_population(self, population: Population) -> np.ndarray:
        return self._counts(population, "params")

    # --- per-arch ----------------------------------------------------------------------------

    def validate(self, arch: ElastifiedArch, *, any_resolution: bool = False) -> None:
        if not isinstance(arch, ElastifiedArch):
            raise ArchError(f"expected an ElastifiedArch, got {type(arch).__name__}")
        row = self.to_population([arch])
        if any_resolution:
            row[:, 0] = self.resolutions[-1]
        if self.contains_population(row)[0]:
            return
        canonical = self.canonicalize(row)
        for column, gene in enumerate(self.genes):
            value, active = int(row[0, column]), bool(self.active(canonical, column)[0])
            if active and value not in gene.choices:
                raise ArchError(
                    f"{gene.kind} of {gene.name or 'the input'}: {value} not in {gene.choices}"
                )
            if not active and value != 0:
                raise ArchError(
                    f"{gene.kind} of {gene.name}: its block is dropped, so it must be 0 (_)"
                )
        raise ArchError(f"{arch} is not in this space")

    def max(self) -> ElastifiedArch:
        return self.from_population(
            self.canonicalize(np.array([[max(g.choices) for g in self.genes]]))
        )[0]

    def min(self) -> ElastifiedArch:
        return self.from_population(
            self.canonicalize(np.array([[min(g.choices) for g in self.genes]]))
        )[0]

    def size(self, with_resolutions: bool = False) -> int:
        """Distinct sub-networks: for every canonical choice of depths, the product of the choices
        of the width and kernel genes it keeps."""
        depth_columns = self.columns("depth")
        total = 0
        for depths in itertools.product(*[(0, *self.genes[c].choices) for c in depth_columns]):
            row = np.zeros((1, len(self.genes)), dtype=np.int32)
            row[0, depth_columns] = depths
            if not np.array_equal(self.canonicalize(row), row):
                continue  # a depth given for a dropped stage
            if any(
                self.active(row, c)[0] and d == 0
                for c, d in zip(depth_columns, depths, strict=True)
            ):
                continue  # a kept stage without a depth
            total += math.prod(
                len(gene.choices)
                for column, gene in enumerate(self.genes)
                if gene.kind in ("width", "kernel") and self.active(row, column)[0]
            )
        return total * (len(self.resolutions) if with_resolutions else 1)

    def parse(self, text: str) -> ElastifiedArch:
        parts = text.strip().split("-")
        if not parts or not parts[0].startswith("r"):
            raise CodecError(f"{text!r}: an elastified arch starts with r<resolution>")
        values: dict[str, tuple[int, ...]] = {"depth": (), "width": (), "kernel": ()}
        try:
            resolution = int(parts[0][1:])
            for part in parts[1:]:
                kind = dict(SECTIONS).get(part[:1])
                if kind is None or values[kind]:
                    raise CodecError(f"{text!r}: unexpected section {part!r}")
                values[kind] = tuple(0 if v == "_" else int(v) for v in part[1:].split("."))
        except ValueError:
            raise CodecError(f"{text!r}: genes are integers or _") from None
        arch = ElastifiedArch(resolution, values["depth"], values["width"], values["kernel"])
        self._check_counts(arch)
        self.validate(arch, any_resolution=True)
        return arch

    def _check_counts(self, arch: ElastifiedArch) -> None:
        for kind, values in (
            ("depth", arch.depths),
            ("width", arch.widths),
            ("kernel", arch.kernel_sizes),
        ):
            expected = len(self.columns(kind))  # type: ignore[arg-type]
            if len(values) != expected:
                raise ArchError(f"{arch}: {expected} {kind} genes expected, got {len(values)}")

    def arch_from_json(self, obj: dict[str, Any]) -> ElastifiedArch:
        try:
            arch = ElastifiedArch(
                int(obj["resolution"]),
                tuple(int(v) for v in obj.get("depths", ())),
                tuple(int(v) for v in obj.get("widths", ())),
                tuple(int(v) for v in obj.get("kernel_sizes", ())),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ArchError(f"not an elastified arch: {error}") from None
        self._check_counts(arch)
        self.validate(arch, any_resolution=True)
        return arch

    def from_reference_dict(
        self, ref: dict[str, Any], resolution: int | None = None
    ) -> ElastifiedArch:
        raise ArchError("an elastified network has no reference-implementation format")

    def to_reference_dict(self, arch: ElastifiedArch) -> dict[str, Any]:
        raise ArchError("an elastified network has no reference-implementation format")

    def describe(self) -> dict[str, Any]:
        return {
            "family": "elastified",
            "num_classes": self.num_classes,
            "resolutions": list(self.resolutions),
            "genes": [
                {"name": g.name, "kind": g.kind, "choices": list(g.choices)} for g in self.genes[1:]
            ],
            "size": self.size(),
        }
