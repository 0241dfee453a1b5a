"""Strict conversion between nested frozen dataclasses and plain YAML data.

Priority: dataclass defaults < YAML file < ``--set a.b=c`` overrides. Unknown keys, wrong types
and bad values raise ConfigError naming the full key path (e.g. ``phases.kernel.lr``).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

import yaml

from onceforall.errors import ConfigError

T = TypeVar("T")


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def convert(value: Any, annotation: Any, path: str) -> Any:
    """`value` (parsed YAML) as `annotation`, or ConfigError naming `path`."""
    origin = get_origin(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        options = get_args(annotation)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return convert(value, option, path)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(
            errors[-1] if len(errors) == 1 else f"{path}: {value!r} fits none of {annotation}"
        )
    if origin is typing.Literal:
        if value not in get_args(annotation):
            raise ConfigError(f"{path}: {value!r} is not one of {list(get_args(annotation))}")
        return value
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {value!r}")
        key_type, value_type = get_args(annotation)
        return {
            convert(k, key_type, path): convert(v, value_type, f"{path}.{k}")
            for k, v in value.items()
        }
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {value!r}")
        args = get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(convert(v, args[0], f"{path}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(f"{path}: expected {len(args)} values, got {len(value)}")
        return tuple(
            convert(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True))
        )
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        return from_dict(annotation, value, path)
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {value!r}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: expected an integer, got {value!r}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: expected a number, got {value!r}")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{path}: unsupported type {_type_name(annotation)}")


def from_dict(cls: type[T], data: Any, path: str = "") -> T:
    """A dataclass from a mapping; every key must be a field."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'config'}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"{path}." if path else ""
        keys = ", ".join(where + k for k in unknown)
        plural = "s" if len(unknown) > 1 else ""
        raise ConfigError(f"unknown key{plural} {keys}; known: {', '.join(sorted(fields))}")
    values = {}
    for name, value in data.items():
        values[name] = convert(value, hints[name], f"{path}.{name}" if path else name)
    missing = [
        name
        for name, f in fields.items()
        if name not in values
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{path or 'config'}: missing required key(s) {', '.join(missing)}")
    try:
        return cls(**values)
    except ConfigError as error:  # the message names the setting; add where the value is
        raise ConfigError(f"{path}: {error}" if path else str(error)) from None
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{path or 'config'}: {error}") from None


def to_dict(value: Any) -> Any:
    """Plain data (dicts, lists, scalars) from dataclasses, for YAML/JSON/checkpoints."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_dict(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: to_dict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_dict(v) for v in value]
    return value


def apply_override(data: dict[str, Any], assignment: str) -> None:
    """Apply ``a.b.c=value`` (value parsed as YAML) to nested plain data, in place.

    List items are addressed by index or, for lists of mappings with a ``name``, by that name
    (``phases.kernel.epochs=2``).
    """
    if "=" not in assignment:
        raise ConfigError(f"--set {assignment!r}: expected KEY=VALUE")
    key, _, text = assignment.partition("=")
    try:
        value = yaml.safe_load(text) if text else ""
    except yaml.YAMLError as error:
        raise ConfigError(f"--set {key}: cannot parse {text!r}: {error}") from None
    parts = key.strip().split(".")
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        here = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            index = _list_index(node, part, here)
            if last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise ConfigError(f"--set {key}: {'.'.join(parts[:depth])} is not a mapping or list")


def _list_index(items: list[Any], part: str, here: str) -> int:
    if part.isdigit():
        if int(part) >= len(items):
            raise ConfigError(f"--set {here}: index out of range (the list has {len(items)} items)")
        return int(part)
    names = [item.get("name") for item in items if isinstance(item, dict)]
    if part not in names:
        raise ConfigError(f"--set {here}: no item named {part!r}; names: {names}")
    return names.index(part)


def load_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"no such config file: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(error).split())}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (a YAML config is UTF-8 text)") from None
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return data
