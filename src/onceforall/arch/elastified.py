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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np

from onceforall.arch.genome import GeneGroup, Genome, GenomeSpace, check_population
from onceforall.arch.slot_table import ResolutionTable, SlotIndex, table_sums
from onceforall.arch.space import Population
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
    input_sizes: tuple[int, ...] = ()  # input height per resolution (latency operators)
    stride: int = 1
    padding: int = 0  # of the largest kernel (a smaller elastic kernel pads kernel // 2)
    fixed_params: int = 0  # layers counted as they are (kind "other")
    owners: tuple[Owner, ...] = ()


def layer_cost(layer: LayerCost, cin: int, cout: int, kernel: int) -> tuple[int, int]:
    """(MACs per output position, parameters) of one layer with these channels and kernel."""
    if layer.kind == "depthwise":
        weights, outputs = cin * kernel * kernel, cin
    elif layer.kind in ("conv", "grouped"):
        weights, outputs = cout * (cin // layer.groups) * kernel * kernel, cout
    elif layer.kind == "linear":
        weights, outputs = cin * cout, cout
    elif layer.kind == "batchnorm":
        return 0, 2 * cin
    else:
        return 0, layer.fixed_params
    return weights, weights + (outputs if layer.bias else 0)


@dataclass(frozen=True)
class ElastifiedSpace(GenomeSpace[ElastifiedArch]):
    """Genes (resolution first, then depth, width, kernel genes) and per-layer cost tables.

    Each layer is one term of the space's slot table (arch/slot_table.py): its entry is the
    (layer, input-width choice, output-width choice, kernel choice) it runs with, so MACs,
    parameters and latency of a population are one gather and a masked sum, as for every family.
    Only an elastic stage's blocks own genes (stages are never nested), so one pass canonicalizes.
    """

    genes: tuple[Gene, ...]
    layers: tuple[LayerCost, ...]
    num_classes: int | None = None
    reference: str | None = None  # the user model reference it was built from, if any

    def __post_init__(self) -> None:
        if not self.genes or self.genes[0].kind != "resolution":
            raise ArchError("an elastified space starts with its resolution gene")
        for gene in self.genes:
            if any(
                self.genes[owner].kind != "depth" or self.genes[owner].owners
                for owner, _ in gene.owners
            ):
                raise ArchError(f"gene {gene.name}: owners must be unowned depth genes")

    # --- structure ---------------------------------------------------------------------------

    @property
    def resolutions(self) -> tuple[int, ...]:  # type: ignore[override]
        return self.genes[0].choices

    def columns(self, kind: GeneKind) -> list[int]:
        return [i for i, gene in enumerate(self.genes) if gene.kind == kind]

    @cached_property
    def genome(self) -> Genome:
        return Genome(
            tuple(
                GeneGroup(
                    f"{gene.kind}{column}",
                    gene.choices,
                    1,
                    "resolution" if gene.kind == "resolution" else "choice",
                )
                for column, gene in enumerate(self.genes)
            )
        )

    @cached_property
    def _ownership(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(owned gene columns, their owner depth columns, block positions)."""
        owned = [(c, o, p) for c, g in enumerate(self.genes) for o, p in g.owners]
        if not owned:
            return (np.zeros(0, np.intp),) * 3
        columns, owners, positions = (np.array(v, dtype=np.intp) for v in zip(*owned, strict=True))
        return columns, owners, positions

    def zero_inactive(self, genes: Population) -> Population:
        columns, owners, positions = self._ownership
        if len(columns):
            genes[:, columns] *= genes[:, owners] > positions
        return genes

    def gene_activity(self, population: Population) -> np.ndarray:
        """Boolean (rows, genes): which genes count for each row."""
        population = np.asarray(population)
        active = np.ones(population.shape, dtype=bool)
        columns, owners, positions = self._ownership
        if len(columns):
            active[:, columns] = population[:, owners] > positions
        return active

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
            dataclasses.replace(
                layer,
                positions=tuple(layer.positions[i] for i in keep),
                input_sizes=tuple(layer.input_sizes[i] for i in keep),
            )
            for layer in self.layers
        )
        return dataclasses.replace(self, genes=genes, layers=layers)

    def restrict_choices(self, choices: Mapping[str, Iterable[Any]]) -> ElastifiedSpace:
        """A sub-space by named choices: only `resolutions` is a named choice of this space
        (per-gene choices narrow with `restrict`)."""
        unknown = sorted(set(choices) - {"resolutions"})
        if unknown:
            raise ArchError(
                f"restrict: {', '.join(unknown)} is not a choice of an elastified space"
            )
        if "resolutions" not in choices:
            return self
        return self.with_resolutions(int(r) for r in choices["resolutions"])

    def restrict(
        self,
        kernel_sizes: Sequence[float] | None = None,
        width_ratios: Sequence[float] | None = None,
        depth_drops: Sequence[float] | None = None,
        resolutions: Sequence[int] | None = None,
    ) -> ElastifiedSpace:
        """A sub-space (e.g. for a training phase). `kernel_sizes`: each convolution keeps these
        of its sizes (else its largest below them, else its smallest); `width_ratios`: each group
        keeps the widths made from these ratios (else its full width); `depth_drops`: each stage
        keeps its depth minus these blocks (else its full depth)."""
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
                kept = zip(gene.choices, gene.ratios, strict=True)
                choices = tuple(c for c, r in kept if round(r, 6) in wanted) or (max(choices),)
            elif gene.kind == "depth" and depth_drops is not None:
                drops = {int(d) for d in depth_drops}
                full = max(gene.choices)
                choices = tuple(c for c in choices if full - c in drops) or (full,)
            pairs = zip(gene.choices, gene.ratios, strict=True) if gene.ratios else ()
            ratios = tuple(r for c, r in pairs if c in choices)
            genes.append(dataclasses.replace(gene, choices=choices, ratios=ratios))
        space = dataclasses.replace(self, genes=tuple(genes))
        return space if resolutions is None else space.with_resolutions(resolutions)

    @property
    def expand_ratios(self) -> tuple[float, ...]:
        """The width ratios of the width genes' choices (what a training phase's channel
        sorting keeps of earlier phases, as the expand ratios of a MobileNet space)."""
        return tuple(sorted({r for gene in self.genes for r in gene.ratios}))

    @property
    def layout(self) -> tuple[tuple[Any, ...], ...]:
        """What shapes the layers' operators, whatever the choices (latency tables' digest)."""
        return tuple(
            (x.path, x.kind, x.in_channels, x.out_channels, x.kernel_size, x.groups, x.bias)
            for x in self.layers
        )

    def entry_choices(self, term: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """The input widths, output widths and kernel sizes that slot-table axes 1-3 index for
        layer `term` (its fixed value when no gene sets it)."""
        layer = self.layers[term]
        return tuple(  # type: ignore[return-value]
            (getattr(layer, size),) if column is None else self.genes[column].choices
            for column, size in (
                (layer.in_gene, "in_channels"),
                (layer.out_gene, "out_channels"),
                (layer.kernel_gene, "kernel_size"),
            )
        )

    # --- population form ---------------------------------------------------------------------

    def contains_population(self, population: Population) -> np.ndarray:
        population = np.asarray(population)
        if population.ndim != 2 or population.shape[1] != len(self.genes):
            return np.zeros(len(population), dtype=bool)
        active = self.gene_activity(population)
        ok = np.ones(len(population), dtype=bool)
        for column, gene in enumerate(self.genes):
            genes = population[:, column]
            ok &= np.where(active[:, column], np.isin(genes, gene.choices), genes == 0)
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

    # --- slot tables and costs ---------------------------------------------------------------

    def active_slots(self, population: Population) -> np.ndarray:
        """Boolean (rows, layers): which layers run."""
        population = np.asarray(population)
        active = np.ones((len(population), len(self.layers)), dtype=bool)
        for index, layer in enumerate(self.layers):
            for owner, position in layer.owners:
                active[:, index] &= population[:, owner] > position
        return active

    def _gene_choices(self, column: int | None) -> int:
        return 1 if column is None else len(self.genes[column].choices)

    @property
    def slot_table_shape(self) -> tuple[int, ...]:
        most = [
            max([1, *(self._gene_choices(getattr(layer, name)) for layer in self.layers)])
            for name in ("in_gene", "out_gene", "kernel_gene")
        ]
        return (len(self.layers), *most)

    def slot_index(self, population: Population) -> SlotIndex:
        population = check_population(self, population)
        if not self.contains_population(population).all():
            row = int(np.argmin(self.contains_population(population)))
            raise ArchError(f"row {row} is not a sub-network of this space")
        _, most_in, most_out, most_kernel = self.slot_table_shape
        index_of = self.operators.index_of
        rows = len(population)
        entries = np.zeros((rows, len(self.layers)), dtype=np.int64)
        for term, layer in enumerate(self.layers):
            parts = []
            for column in (layer.in_gene, layer.out_gene, layer.kernel_gene):
                parts.append(
                    np.zeros(rows, np.int64)
                    if column is None
                    else index_of[column, population[:, column]]
                )
            entries[:, term] = (
                (term * most_in + parts[0]) * most_out + parts[1]
            ) * most_kernel + parts[2]
        return SlotIndex(entries, self.active_slots(population))

    def cost_table(self, resolution: int, what: Literal["macs", "params"]) -> ResolutionTable:
        """MACs or parameters of every (layer, input width, output width, kernel) entry."""
        return self._cost_tables[(resolution, what)]

    def _count_table(self, resolution: int, what: Literal["macs", "params"]) -> ResolutionTable:
        position_index = self.resolutions.index(resolution)
        values = np.zeros(self.slot_table_shape, dtype=np.int64)
        for term, layer in enumerate(self.layers):
            ins, outs, kernels = self.entry_choices(term)
            for i, o, k in itertools.product(
                range(len(ins)), range(len(outs)), range(len(kernels))
            ):
                macs, params = layer_cost(layer, ins[i], outs[o], kernels[k])
                if what == "macs":
                    values[term, i, o, k] = macs * layer.positions[position_index]
                else:
                    values[term, i, o, k] = params
        return ResolutionTable(resolution, 0, values)

    @cached_property
    def _cost_tables(self) -> dict[tuple[int, str], ResolutionTable]:
        return {
            (r, what): self._count_table(r, what)
            for r in self.resolutions
            for what in ("macs", "params")
        }

    def _counts(self, population: Population, what: str) -> np.ndarray:
        population = check_population(self, population)
        bad = sorted(set(population[:, 0].tolist()) - set(self.resolutions))
        if bad:
            raise ArchError(f"resolution {bad[0]} not in {self.resolutions}")
        return table_sums(
            self.slot_index(population),
            population[:, 0],
            lambda r: self._cost_tables[(r, what)],
            np.int64,
        )

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
        active = self.gene_activity(row)[0]
        for column, gene in enumerate(self.genes):
            value = int(row[0, column])
            if active[column] and value not in gene.choices:
                raise ArchError(
                    f"{gene.kind} of {gene.name or 'the input'}: {value} not in {gene.choices}"
                )
            if not active[column] and value != 0:
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
        """Distinct sub-networks: for every choice of depths, the product of the choices of the
        width and kernel genes it keeps."""
        depth_columns = self.columns("depth")
        counted = [c for c, g in enumerate(self.genes) if g.kind in ("width", "kernel")]
        total = 0
        for depths in itertools.product(*[self.genes[c].choices for c in depth_columns]):
            row = np.zeros((1, len(self.genes)), dtype=np.int32)
            row[0, depth_columns] = depths
            active = self.gene_activity(row)[0]
            total += math.prod(len(self.genes[c].choices) for c in counted if active[c])
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
        """An elastified network has no reference-implementation format: its dict form is its
        JSON (`ElastifiedArch.to_json`), which search results carry."""
        return self.arch_from_json(ref if resolution is None else {**ref, "resolution": resolution})

    def to_reference_dict(self, arch: ElastifiedArch) -> dict[str, Any]:
        return arch.to_json()

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
