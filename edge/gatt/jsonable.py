"""Decoded values as JSON-ready dicts, for `edge decode` and for logs."""

import dataclasses
import datetime as dt
import enum
import math
from collections.abc import Mapping
from typing import Any


def to_json(value: object) -> dict[str, Any]:
    """Every field of a decoded value, plus the properties its class lists in JSON_PROPERTIES
    (the values in normalised units: RR in ms, temperature in °C, pressure in mmHg, glucose in
    mg/dL). Flag sets become sorted lists of names, enumerations their names, times ISO 8601
    strings, bytes hexadecimal, and numbers a device marked as not available null."""
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        raise TypeError(f"not a decoded value: {value!r}")
    out: dict[str, Any] = {}
    name = getattr(value, "NAME", None)
    if name is not None:
        out["characteristic"] = name
    out.update(_fields(value))
    return out


def _fields(value: object) -> dict[str, Any]:
    names = [field.name for field in dataclasses.fields(value)]  # type: ignore[arg-type]
    names += getattr(value, "JSON_PROPERTIES", ())
    return {name: _jsonable(getattr(value, name)) for name in names}


def _jsonable(value: object) -> Any:
    if isinstance(value, enum.Flag):
        return sorted(member.name.lower() for member in value if member.name)
    if isinstance(value, enum.StrEnum):
        return value.value
    if isinstance(value, enum.Enum):
        return value.name.lower()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return {_key(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if dataclasses.is_dataclass(value):
        return _fields(value)
    raise TypeError(f"no JSON form for {type(value).__name__}")


def _key(key: object) -> str:
    return key.name.lower() if isinstance(key, enum.Enum) and key.name else str(key)
