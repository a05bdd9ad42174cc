"""Typed TOML files: dataclasses whose fields carry their documentation and their check.

Validation reports every problem at once, each with its key path and the reason; unknown keys
are errors, so that a typo is never silently ignored. The same field metadata produces the
reference documentation, so the two cannot drift apart.
"""

import dataclasses
import json
import math
import re
import tomllib
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import field
from pathlib import Path
from typing import Any, Literal, TypeVar

Check = Callable[[Any], str | None]
T = TypeVar("T")


class ConfigError(Exception):
    """Every problem found in one file, each as `key.path: reason`."""

    def __init__(self, source: str, errors: list[str]) -> None:
        super().__init__("\n".join(f"{source}: {error}" for error in errors))
        self.source = source
        self.errors = errors


def in_range(low: float, high: float) -> Check:
    def check(value: Any) -> str | None:
        return None if low <= value <= high else f"must be {low}..{high}, got {value}"

    return check


def non_empty(value: Any) -> str | None:
    return None if value else "must not be empty"


def matches(pattern: str, meaning: str) -> Check:
    compiled = re.compile(pattern)

    def check(value: Any) -> str | None:
        return None if compiled.fullmatch(value) else f"must be {meaning}, got {value!r}"

    return check


def setting(default: Any = dataclasses.MISSING, *, doc: str, check: Check | None = None) -> Any:
    metadata = {"doc": doc, "check": check}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def read_toml(path: Path) -> dict[str, Any]:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(source, [f"cannot read: {error}"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(source, [f"invalid TOML: {error}"]) from None


def build(cls: type[T], table: Mapping[str, Any], source: str) -> T:
    """An instance of `cls` from a parsed TOML table; raises ConfigError listing every problem."""
    errors: list[str] = []
    built = _build(cls, table, "", errors)
    if built is None:
        raise ConfigError(source, errors)
    return built


def _build(cls: type[T], table: Any, path: str, errors: list[str]) -> T | None:
    if not isinstance(table, dict):
        errors.append(f"{path or '<top>'}: must be a table, got {_type_name(table)}")
        return None
    errors_before = len(errors)
    values: dict[str, Any] = {}
    known = set()
    hints = typing.get_type_hints(cls)
    for spec in _settings(cls):
        known.add(spec.name)
        key = f"{path}.{spec.name}" if path else spec.name
        if spec.name not in table:
            if _required(spec):
                errors.append(f"{key}: missing, required")
            continue
        value = _convert(hints[spec.name], table[spec.name], key, errors)
        check = spec.metadata.get("check")
        problem = check(value) if check is not None and value is not None else None
        if problem:
            errors.append(f"{key}: {problem}")
        values[spec.name] = value
    for unknown in sorted(set(table) - known):
        errors.append(f"{path + '.' if path else ''}{unknown}: unknown key")
    if len(errors) > errors_before:
        return None
    return cls(**values)


def _convert(hint: Any, value: Any, key: str, errors: list[str]) -> Any:
    origin = typing.get_origin(hint)
    if origin is types.UnionType:
        # `T | None`: TOML has no null, so a key that is present always holds a T.
        (present,) = (arg for arg in typing.get_args(hint) if arg is not type(None))
        return _convert(present, value, key, errors)
    if dataclasses.is_dataclass(hint):
        return _build(typing.cast(type, hint), value, key, errors)
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            errors.append(f"{key}: must be an array of tables, got {_type_name(value)}")
            return None
        return [_convert(item, entry, f"{key}[{index}]", errors)
                for index, entry in enumerate(value)]
    if origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            errors.append(f"{key}: must be one of {', '.join(map(str, choices))}, got {value!r}")
            return None
        return value
    return _scalar(hint, value, key, errors)


def _scalar(hint: Any, value: Any, key: str, errors: list[str]) -> Any:
    accepted: tuple[type, ...] = (int, float) if hint is float else (hint,)
    if (isinstance(value, bool) and hint is not bool) or not isinstance(value, accepted):
        errors.append(f"{key}: must be {_type_name_of(hint)}, got {_type_name(value)} {value!r}")
        return None
    if hint is float:
        return float(typing.cast(float, value))
    return value


def _settings(cls: type) -> Iterator[dataclasses.Field[Any]]:
    return (spec for spec in dataclasses.fields(cls) if not spec.metadata.get("internal"))


def _required(spec: dataclasses.Field[Any]) -> bool:
    return spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING


def _type_name_of(hint: Any) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        hint, str(hint))


def _type_name(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
             dict: "table"}
    return names.get(type(value), type(value).__name__)


def describe_settings(cls: type, prefix: str = "") -> Iterator[tuple[str, str, str]]:
    """(key path, default, documentation) for every setting, for the reference docs."""
    hints = typing.get_type_hints(cls)
    for spec in _settings(cls):
        key = f"{prefix}{spec.name}"
        hint = hints[spec.name]
        nested = typing.get_args(hint)[0] if typing.get_origin(hint) is list else hint
        doc = spec.metadata["doc"]
        if dataclasses.is_dataclass(nested):
            suffix = "[]" if nested is not hint else ""
            yield key + suffix, "", doc
            yield from describe_settings(typing.cast(type, nested), f"{key}{suffix}.")
        else:
            default = "required" if _required(spec) else _toml_value(spec.default)
            yield key, default, doc


def _toml_value(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)



_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def dumps(table: Mapping[str, Any]) -> str:
    """TOML text for a table of strings, numbers, booleans, arrays and nested tables, which
    `tomllib.loads` reads back equal. Scalars come first in each table, then sub-tables, then
    arrays of tables, as TOML requires."""
    return "\n".join(_table_lines(table, ())).strip() + "\n"


def _table_lines(table: Mapping[str, Any], path: tuple[str, ...]) -> Iterator[str]:
    scalars = {k: v for k, v in table.items() if not _is_table(v) and not _is_table_array(v)}
    for key, value in scalars.items():
        yield f"{_key(key)} = {_inline(value)}"
    for key, value in table.items():
        if _is_table(value):
            yield ""
            yield f"[{'.'.join(map(_key, (*path, key)))}]"
            yield from _table_lines(value, (*path, key))
        elif _is_table_array(value):
            for entry in value:
                yield ""
                yield f"[[{'.'.join(map(_key, (*path, key)))}]]"
                yield from _table_lines(entry, (*path, key))


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(value: str) -> str:
    # A JSON string is a TOML basic string, once DEL, which TOML wants escaped, is escaped.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _inline(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return repr(value)
    if isinstance(value, list):
        return f"[{', '.join(_inline(v) for v in value)}]"
    raise TypeError(f"no TOML form for {type(value).__name__} {value!r}")
