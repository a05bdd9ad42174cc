"""A model's manifest.json: what the model expects and returns, and which files hold it.

Every key is checked on load; an error names the manifest file and the key path
(`inputs.standardize.scale[2]`), so that a broken model package is refused with a reason.
Keys at the top level beyond the ones below belong to the model card (training data, licence,
attribution, figures) and are kept as they are.
"""

import json
import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

BACKENDS = ("onnx", "litert")
PRECISIONS = ("float", "int8")
REQUIRED_KEYS = ("name", "version", "created", "inputs", "outputs", "thresholds", "variants",
                 "reference")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ModelRefused(Exception):
    """A model that must not run: its message names the file and the reason."""


@dataclass(frozen=True)
class Variant:
    backend: str
    precision: str
    path: str
    sha256: str
    bytes: int

    @property
    def key(self) -> str:
        return variant_key(self.backend, self.precision)


@dataclass(frozen=True)
class ModelManifest:
    path: Path
    name: str
    version: str
    created: str
    feature_names: tuple[str, ...]
    feature_mean: tuple[float, ...]
    feature_scale: tuple[float, ...]
    output_names: tuple[str, ...]
    thresholds: dict[str, float]
    variants: tuple[Variant, ...]
    reference_input: tuple[tuple[float, ...], ...]
    reference_output: dict[str, tuple[tuple[float, ...], ...]]
    card: dict[str, Any]

    def variant(self, backend: str, precision: str) -> Variant:
        for variant in self.variants:
            if (variant.backend, variant.precision) == (backend, precision):
                return variant
        present = ", ".join(variant.key for variant in self.variants)
        raise ModelRefused(f"{self.path}: no {variant_key(backend, precision)} variant "
                           f"(it has {present})")

    def file_of(self, variant: Variant) -> Path:
        return self.path.parent / variant.path

    def standardize(self, features: np.ndarray) -> np.ndarray:
        mean = np.asarray(self.feature_mean, dtype=np.float32)
        scale = np.asarray(self.feature_scale, dtype=np.float32)
        standardized: np.ndarray = ((features - mean) / scale).astype(np.float32)
        return standardized


def variant_key(backend: str, precision: str) -> str:
    return f"{backend}/{precision}"


def load_manifest(path: Path) -> ModelManifest:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelRefused(f"{path}: manifest not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelRefused(f"{path}: cannot read manifest: {error}") from None
    return _parse(path, _Node(path, "", document))


class _Node:
    """One JSON value in a manifest, with its key path for error messages."""

    def __init__(self, file: Path, key_path: str, value: Any) -> None:
        self.file = file
        self.key_path = key_path
        self.value = value

    def refuse(self, problem: str) -> ModelRefused:
        where = f"key {self.key_path}: " if self.key_path else ""
        return ModelRefused(f"{self.file}: {where}{problem}")

    def child(self, key: str) -> "_Node":
        mapping = self.mapping()
        if key not in mapping:
            raise _Node(self.file, self._join(key), None).refuse("missing")
        return _Node(self.file, self._join(key), mapping[key])

    def mapping(self, allowed: tuple[str, ...] | None = None) -> dict[str, Any]:
        if not isinstance(self.value, dict):
            raise self.refuse(f"expected an object, found {_kind(self.value)}")
        for key in self.value:
            if allowed is not None and key not in allowed:
                raise _Node(self.file, self._join(key), None).refuse(
                    f"unknown key (expected one of {', '.join(allowed)})")
        return self.value

    def items(self) -> list["_Node"]:
        if not isinstance(self.value, list):
            raise self.refuse(f"expected a list, found {_kind(self.value)}")
        return [_Node(self.file, f"{self.key_path}[{index}]", item)
                for index, item in enumerate(self.value)]

    def text(self, choices: tuple[str, ...] | None = None) -> str:
        if not isinstance(self.value, str) or not self.value:
            raise self.refuse(f"expected a non-empty string, found {_kind(self.value)}")
        if choices is not None and self.value not in choices:
            raise self.refuse(f"{self.value!r} is not one of {', '.join(choices)}")
        return self.value

    def number(self) -> float:
        if isinstance(self.value, bool) or not isinstance(self.value, int | float) \
                or not math.isfinite(self.value):
            raise self.refuse(f"expected a finite number, found {_kind(self.value)}")
        return float(self.value)

    def texts(self) -> tuple[str, ...]:
        names = tuple(item.text() for item in self.items())
        if not names:
            raise self.refuse("expected at least one name")
        if len(set(names)) != len(names):
            raise self.refuse("names repeat")
        return names

    def numbers(self, length: int) -> tuple[float, ...]:
        values = tuple(item.number() for item in self.items())
        if len(values) != length:
            raise self.refuse(f"expected {length} numbers, found {len(values)}")
        return values

    def rows(self, width: int) -> tuple[tuple[float, ...], ...]:
        rows = tuple(item.numbers(width) for item in self.items())
        if not rows:
            raise self.refuse("expected at least one row")
        return rows

    def _join(self, key: str) -> str:
        return f"{self.key_path}.{key}" if self.key_path else key


def _kind(value: Any) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {json.dumps(value)[:40]}"


def _parse(path: Path, root: _Node) -> ModelManifest:
    document = root.mapping()
    inputs = root.child("inputs")
    inputs.mapping(allowed=("features", "dtype", "standardize"))
    inputs.child("dtype").text(choices=("float32",))
    feature_names = inputs.child("features").texts()
    standardize = inputs.child("standardize")
    standardize.mapping(allowed=("mean", "scale"))
    scale = standardize.child("scale")
    feature_scale = scale.numbers(len(feature_names))
    if min(feature_scale) <= 0:
        raise scale.refuse("every scale must be positive")
    output_names = root.child("outputs").texts()
    variants = _variants(root.child("variants"))
    reference = root.child("reference")
    reference.mapping(allowed=("input", "output"))
    reference_input = reference.child("input").rows(len(feature_names))
    return ModelManifest(
        path=path,
        name=root.child("name").text(),
        version=root.child("version").text(),
        created=_date(root.child("created")),
        feature_names=feature_names,
        feature_mean=standardize.child("mean").numbers(len(feature_names)),
        feature_scale=feature_scale,
        output_names=output_names,
        thresholds=_thresholds(root.child("thresholds")),
        variants=variants,
        reference_input=reference_input,
        reference_output=_reference_output(reference.child("output"), variants,
                                           len(reference_input), len(output_names)),
        card={key: value for key, value in document.items() if key not in REQUIRED_KEYS},
    )


def _thresholds(node: _Node) -> dict[str, float]:
    return {key: node.child(key).number() for key in node.mapping()}


def _variants(node: _Node) -> tuple[Variant, ...]:
    variants = tuple(_variant(item) for item in node.items())
    if not variants:
        raise node.refuse("expected at least one variant")
    keys = [variant.key for variant in variants]
    if len(set(keys)) != len(keys):
        raise node.refuse(f"a backend/precision pair repeats: {', '.join(keys)}")
    return variants


def _variant(node: _Node) -> Variant:
    node.mapping(allowed=("backend", "precision", "path", "sha256", "bytes"))
    path = node.child("path")
    if Path(path.text()).name != path.value:
        raise path.refuse("must be a file name beside the manifest, with no directory")
    sha256 = node.child("sha256")
    if not _SHA256.fullmatch(sha256.text()):
        raise sha256.refuse("expected 64 lower-case hexadecimal digits")
    size = node.child("bytes")
    if isinstance(size.value, bool) or not isinstance(size.value, int) or size.value <= 0:
        raise size.refuse(f"expected a positive whole number, found {_kind(size.value)}")
    return Variant(backend=node.child("backend").text(choices=BACKENDS),
                   precision=node.child("precision").text(choices=PRECISIONS),
                   path=path.value, sha256=sha256.value, bytes=size.value)


def _reference_output(node: _Node, variants: tuple[Variant, ...], rows_in: int,
                      width: int) -> dict[str, tuple[tuple[float, ...], ...]]:
    keys = tuple(variant.key for variant in variants)
    node.mapping(allowed=keys)
    outputs = {}
    for key in keys:
        rows = node.child(key)
        outputs[key] = rows.rows(width)
        if len(outputs[key]) != rows_in:
            raise rows.refuse(f"expected {rows_in} rows, one per reference input row")
    return outputs


def _date(node: _Node) -> str:
    try:
        date.fromisoformat(node.text())
    except ValueError:
        raise node.refuse(f"expected a date as YYYY-MM-DD, found {_kind(node.value)}") from None
    return str(node.value)
