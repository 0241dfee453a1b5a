"""A user's network by reference: ``path/to/nets.py:build`` or ``pkg.nets:build`` names a supernet.

`build(num_classes)` returns the user's `nn.Module`; decorating it with `elastic_model(...)` sets
the elastify options (resolutions, width ratios, ...), otherwise the defaults apply with 32 px
inputs. Such a name works wherever a registered supernet name does (`ofa train` configs,
`ofa info`, latency tables, search, export), since the reference is all it takes to rebuild the
same supernet: the builder is called with the weights seeded from `init_seed` (torch's global
generator is forked, never reseeded), then elastified.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from onceforall.arch.elastified import ElastifiedSpace
from onceforall.elastify.plan import ElastifyOptions
from onceforall.elastify.supernet import ElastifiedSupernet
from onceforall.errors import ElastifyError, UnknownSupernetError
from onceforall.nn.elastic import KernelTransform

ATTRIBUTE = "__onceforall_elastify__"
Builder = Callable[[int], nn.Module]


@dataclass(frozen=True)
class UserModel:
    """What a reference names: the builder and the options it was decorated with."""

    reference: str
    build: Builder
    options: ElastifyOptions = field(default_factory=ElastifyOptions)
    in_channels: int = 3
    kernel_transform: KernelTransform = "matrix"

    @property
    def resolutions(self) -> tuple[int, ...]:
        return self.options.resolutions or (32,)


def elastic_model(
    *,
    resolutions: tuple[int, ...] = (32,),
    width_ratios: tuple[float, ...] = (0.5, 0.75, 1.0),
    kernel_sizes: tuple[int, ...] = (3, 5, 7),
    max_dropped_blocks: int = 2,
    channel_divisor: int = 8,
    in_channels: int = 3,
    kernel_transform: KernelTransform = "matrix",
) -> Callable[[Builder], Builder]:
    """Decorate `build(num_classes) -> nn.Module` with the options `elastify` should use."""
    options = ElastifyOptions(
        width_ratios=tuple(width_ratios),
        kernel_sizes=tuple(kernel_sizes),
        max_dropped_blocks=max_dropped_blocks,
        channel_divisor=channel_divisor,
        resolutions=tuple(resolutions),
    )

    def decorate(build: Builder) -> Builder:
        setattr(build, ATTRIBUTE, (options, in_channels, kernel_transform))
        return build

    return decorate


def is_user_reference(name: str) -> bool:
    return ":" in name


def _import(module_part: str) -> Any:
    if module_part.endswith(".py"):
        path = Path(module_part)
        if not path.is_file():
            raise UnknownSupernetError(f"no such file {module_part} (in {module_part}:...)")
        name = f"onceforall_user_{abs(hash(str(path.resolve())))}"
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as error:
            del sys.modules[name]
            raise ElastifyError(
                f"importing {module_part} failed: {error}".splitlines()[0]
            ) from None
        return module
    try:
        return importlib.import_module(module_part)
    except ImportError as error:
        raise UnknownSupernetError(f"cannot import {module_part}: {error}") from None


def load_user_model(reference: str) -> UserModel:
    """The builder named by `reference` (``file.py:function`` or ``package.module:function``)."""
    module_part, _, function = reference.rpartition(":")
    if not module_part or not function.isidentifier():
        raise UnknownSupernetError(
            f"{reference!r} is not a model reference: use path/to/file.py:function or "
            "package.module:function"
        )
    build = getattr(_import(module_part), function, None)
    if not callable(build):
        raise UnknownSupernetError(f"{module_part} has no function {function!r}")
    user = UserModel(reference, build)
    decorated = getattr(build, ATTRIBUTE, None)
    if decorated is not None:
        options, in_channels, kernel_transform = decorated
        user = UserModel(reference, build, options, in_channels, kernel_transform)
    return user


def build_user_network(user: UserModel, num_classes: int, init_seed: int = 0) -> nn.Module:
    """The user's network with weights drawn from `init_seed` (global RNG state untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(init_seed)
        try:
            model = user.build(num_classes)
        except Exception as error:
            raise ElastifyError(
                f"{user.reference}({num_classes}) failed: {error}".splitlines()[0]
            ) from None
    if not isinstance(model, nn.Module):
        raise ElastifyError(f"{user.reference} returned {type(model).__name__}, not an nn.Module")
    return model


def example_input(user: UserModel) -> torch.Tensor:
    size = max(user.resolutions)
    return torch.zeros(1, user.in_channels, size, size)


@functools.lru_cache(maxsize=16)
def user_space(reference: str, num_classes: int) -> ElastifiedSpace:
    """The space of a referenced network (cached: building and tracing it takes a moment)."""
    return user_supernet(reference, num_classes, init_seed=0).plan.space


def user_supernet(reference: str, num_classes: int, init_seed: int = 0) -> ElastifiedSupernet:
    from onceforall.elastify import elastify_network

    user = load_user_model(reference)
    model = build_user_network(user, num_classes, init_seed)
    options = dataclasses.replace(user.options, resolutions=user.resolutions)
    net = elastify_network(
        model,
        example_input(user),
        options,
        user.kernel_transform,
        num_classes,
        reference,
    )
    net.name = reference
    return net


def default_num_classes(reference: str) -> int:
    """The builder's own default for num_classes, else 1000."""
    parameters = list(inspect.signature(load_user_model(reference).build).parameters.values())
    if parameters and isinstance(parameters[0].default, int):
        return int(parameters[0].default)
    return 1000


def supernet_for_space(space: ElastifiedSpace, init_seed: int = 0, **_: Any) -> ElastifiedSupernet:
    """The supernet of a space built from a user model reference (the family's builder)."""
    if space.reference is None:
        raise ElastifyError(
            "this elastified space was not built from a model reference (path/to/file.py:fn); "
            "keep the supernet `elastify` returned"
        )
    net = user_supernet(space.reference, int(space.num_classes or 0), init_seed)
    net.space = space
    return net
