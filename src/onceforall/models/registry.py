"""One registry of supernets: a name -> how to build its space and its network.

The space alone (no weights) is enough for counting, latency tables and search, so it is built
separately and cheaply. Tests are parametrized over the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from onceforall.errors import OnceForAllError, UnknownSupernetError

if TYPE_CHECKING:
    from onceforall.arch.genome import GenomeSpace
    from onceforall.models.supernet import Supernet


@dataclass(frozen=True)
class SupernetEntry:
    name: str
    description: str
    make_space: Callable[[int], GenomeSpace[Any]]
    make_supernet: Callable[..., Supernet[Any]]
    default_num_classes: int = 1000


_REGISTRY: dict[str, SupernetEntry] = {}


def register_supernet(
    name: str,
    description: str,
    make_space: Callable[[int], GenomeSpace[Any]],
    make_supernet: Callable[..., Supernet[Any]],
    default_num_classes: int = 1000,
) -> None:
    """Register `make_supernet(space, **options)` over `make_space(num_classes)` (unique name)."""
    if name in _REGISTRY:
        raise OnceForAllError(f"a supernet named {name!r} is already registered")
    _REGISTRY[name] = SupernetEntry(
        name, description, make_space, make_supernet, default_num_classes
    )


def _load_families() -> None:
    # Importing the catalogue runs the registrations (torch-free: networks load on first use).
    from onceforall.models import builtin  # noqa: F401


def list_supernets() -> list[str]:
    _load_families()
    return sorted(_REGISTRY)


def supernet_entry(name: str) -> SupernetEntry:
    """The registered supernet `name`, or the user's network a reference names (a name with ':',
    e.g. ``nets.py:build``: see elastify/user_model.py)."""
    if ":" in name:
        return _user_entry(name)
    _load_families()
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise UnknownSupernetError(f"unknown supernet {name!r}; known supernets: {known}")
    return _REGISTRY[name]


def _user_entry(reference: str) -> SupernetEntry:
    from onceforall.elastify.user_model import default_num_classes, user_space, user_supernet

    def make_supernet(space: GenomeSpace[Any], init_seed: int = 0, **_: Any) -> Supernet[Any]:
        # An elastified network keeps its own dropout and kernel transform: options are ignored.
        return user_supernet(reference, int(space.num_classes), init_seed)  # type: ignore[attr-defined]

    return SupernetEntry(
        reference,
        f"the user's network {reference}, elastified",
        lambda classes: user_space(reference, classes),
        make_supernet,
        default_num_classes(reference),
    )


def _classes(entry: SupernetEntry, num_classes: int | None) -> int:
    classes = entry.default_num_classes if num_classes is None else num_classes
    if not isinstance(classes, int) or isinstance(classes, bool) or classes < 1:
        raise OnceForAllError(f"num_classes must be a positive integer, got {classes!r}")
    return classes


def supernet_space(name: str, num_classes: int | None = None) -> GenomeSpace[Any]:
    """The space of a registered supernet, without building its weights."""
    entry = supernet_entry(name)
    return entry.make_space(_classes(entry, num_classes))


def create_supernet(name: str, num_classes: int | None = None, **options: Any) -> Supernet[Any]:
    """A registered supernet with fresh weights (`options`: e.g. dropout, kernel_transform)."""
    entry = supernet_entry(name)
    net = entry.make_supernet(entry.make_space(_classes(entry, num_classes)), **options)
    net.name = name
    return net
