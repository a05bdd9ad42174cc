"""The test vectors in tests/data/gatt_vectors/ (see the README there)."""

import tomllib
from pathlib import Path
from typing import Any

import pytest

VECTOR_DIR = Path(__file__).parent.parent / "data" / "gatt_vectors"
NUMBER_FORMAT_FILES = ("ieee11073.toml", "crc16_mcrf4xx.toml")


def load(name: str) -> dict[str, Any]:
    with (VECTOR_DIR / name).open("rb") as file:
        return tomllib.load(file)


def characteristic_files() -> list[str]:
    return sorted(path.name for path in VECTOR_DIR.glob("*.toml")
                  if path.name not in NUMBER_FORMAT_FILES)


def cases(kind: str) -> list[Any]:
    """(uuid, entry) for every `[[kind]]` entry of every characteristic file."""
    params = []
    for name in characteristic_files():
        content = load(name)
        for index, entry in enumerate(content.get(kind, [])):
            uuid = entry.get("uuid", content.get("uuid"))
            params.append(pytest.param(uuid, entry, id=f"{name.removesuffix('.toml')}-{index}"))
    return params


def assert_subset(actual: Any, expected: Any, path: str = "") -> None:
    """Every key of `expected` is in `actual` with an equal value (recursively for tables)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected a table, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{path}.{key} missing from {sorted(actual)}"
            assert_subset(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list) and expected and isinstance(expected[0], dict):
        assert isinstance(actual, list) and len(actual) == len(expected), path
        for index, (item, wanted) in enumerate(zip(actual, expected, strict=True)):
            assert_subset(item, wanted, f"{path}[{index}]")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def lookup(actual: dict[str, Any], dotted: str) -> Any:
    value: Any = actual
    for key in dotted.split("."):
        value = value[key]
    return value
