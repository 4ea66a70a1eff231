"""Build typed dataclass configs from TOML/YAML mappings, rejecting unknown keys by name."""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from edgedistill.errors import UserError, first_line

ConfigT = TypeVar("ConfigT")


def load_mapping(path: Path) -> dict[str, Any]:
    """Read a TOML or YAML file (safe loader) into a dict."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file {path} not found")
    try:
        if path.suffix == ".toml":
            return tomllib.loads(path.read_text(encoding="utf-8"))
        if path.suffix in (".yaml", ".yml"):
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
            return loaded or {}
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: cannot parse: {first_line(exc)}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; re-save it as UTF-8") from None
    except RecursionError:
        raise UserError(f"{path}: nests too deeply to be a config file") from None
    raise UserError(f"{path}: config files must be .toml, .yaml or .yml")


def from_mapping(cls: type[ConfigT], mapping: dict[str, Any], where: str) -> ConfigT:
    """Instantiate dataclass `cls` from `mapping`, recursing into nested dataclasses.

    Unknown keys and values of the wrong type raise a UserError naming `where` and the key.
    """
    if not isinstance(mapping, dict):
        raise UserError(f"{where}: expected a table, got {type(mapping).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(mapping) - set(fields))
    if unknown:
        raise UserError(f"{where}: unknown key {unknown[0]!r}; valid keys: {', '.join(sorted(fields))}")
    hints = typing.get_type_hints(cls)
    values = {name: _coerce(hints[name], value, f"{where}.{name}") for name, value in mapping.items()}
    try:
        return cls(**values)
    except TypeError as exc:
        raise UserError(f"{where}: {exc}") from None


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        candidates = [a for a in args if a is not type(None)]
        return _coerce(candidates[0], value, where)
    if dataclasses.is_dataclass(hint):
        return from_mapping(hint, value, where)
    if origin is typing.Literal:
        if value not in args:
            raise UserError(f"{where}: {value!r} is not one of {', '.join(map(repr, args))}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise UserError(f"{where}: expected a list, got {type(value).__name__}")
        items = [_coerce(args[0], item, f"{where}[{i}]") for i, item in enumerate(value)] if args else value
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise UserError(f"{where}: expected a table, got {type(value).__name__}")
        if args and args[1] in (int, float, str, bool):  # a table of numbers, say (losses = {hidden = 1.0})
            return {key: _coerce(args[1], item, f"{where}.{key}") for key, item in value.items()}
        return value
    if hint is Path:
        if not isinstance(value, str):
            raise UserError(f"{where}: expected a path, got {value!r}")
        if "\0" in value:  # no file name can hold one; the OS refuses it with a ValueError
            raise UserError(f"{where}: a path cannot hold a NUL character (got {value!r})")
        return Path(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and (not isinstance(value, hint) or (hint is int and isinstance(value, bool))):
        raise UserError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value
