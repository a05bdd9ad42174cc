"""Loading a model package (manifest.json and its model files) and running it on raw features.

A model is refused, with the file and the reason, unless its file matches the manifest's
sha256 and it reproduces the manifest's reference outputs on this machine's runtime.
"""

import hashlib
from pathlib import Path
from typing import Protocol

import numpy as np

from edge.inference.manifest import (
    BACKENDS,
    PRECISIONS,
    ModelManifest,
    ModelRefused,
    Variant,
    load_manifest,
)

# Largest difference from the manifest's reference outputs that a runtime may show: float
# kernels differ in rounding only; int8 ones may differ by a quantization step or two
# (an output step is 1/256 for a probability).
REFERENCE_TOLERANCE = {"float": 1e-4, "int8": 0.01}


class Runner(Protocol):
    """One backend's session on one model file: standardized float32 rows in, outputs out."""

    backend: str
    input_width: int
    output_width: int

    def run(self, standardized: np.ndarray) -> np.ndarray: ...


class Model:
    def __init__(self, manifest: ModelManifest, variant: Variant, runner: Runner) -> None:
        self.manifest = manifest
        self.name = manifest.name
        self.version = manifest.version
        self.backend = variant.backend
        self.precision = variant.precision
        self._runner = runner

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Raw (batch, n_features) rows to (batch, n_outputs) float32 probabilities."""
        rows = self._checked(features)
        return self._runner.run(self.manifest.standardize(rows))

    def _checked(self, features: np.ndarray) -> np.ndarray:
        rows = np.asarray(features, dtype=np.float32)
        expected = len(self.manifest.feature_names)
        if rows.ndim != 2 or rows.shape[1] != expected:
            raise ValueError(
                f"model {self.name!r} takes rows of {expected} features "
                f"({', '.join(self.manifest.feature_names)}), shaped (batch, {expected}); "
                f"got an array shaped {rows.shape}")
        if not np.isfinite(rows).all():
            bad_rows = sorted({int(row) for row in np.argwhere(~np.isfinite(rows))[:, 0]})
            raise ValueError(f"model {self.name!r}: features are not finite in rows {bad_rows}")
        return rows


def default_backend() -> str:
    """LiteRT where a usable interpreter is installed, ONNX Runtime otherwise."""
    from edge.inference import RuntimeUnavailable
    from edge.inference.litert_backend import usable_interpreter_class
    try:
        usable_interpreter_class()
    except RuntimeUnavailable:
        return "onnx"
    return "litert"


def open_runner(backend: str, content: bytes) -> Runner:
    """A session of `backend` on a model file's bytes; raises whatever the runtime raises."""
    _check_choice("backend", backend, BACKENDS)
    if backend == "onnx":
        from edge.inference.onnx_backend import OnnxRunner
        return OnnxRunner(content)
    from edge.inference.litert_backend import LiteRtRunner
    return LiteRtRunner(content)


def _check_choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(choices)}")


def load_model(manifest_path: Path, backend: str | None = None,
               precision: str = "int8") -> Model:
    """The model of a manifest.json, on `backend` (default: LiteRT where usable) at `precision`;
    ModelRefused, naming the file and the reason, unless the file is the one the manifest
    describes and reproduces the manifest's reference outputs here."""
    backend = backend or default_backend()
    _check_choice("backend", backend, BACKENDS)
    _check_choice("precision", precision, PRECISIONS)
    manifest = load_manifest(manifest_path)
    variant = manifest.variant(backend, precision)
    file = manifest.file_of(variant)
    runner = _runner(file, variant, _verified_content(file, variant))
    _check_widths(manifest, runner, file)
    model = Model(manifest, variant, runner)
    _check_reference(model, file)
    return model


def _verified_content(file: Path, variant: Variant) -> bytes:
    try:
        content = file.read_bytes()
    except FileNotFoundError:
        raise ModelRefused(f"{file}: model file not found") from None
    except OSError as error:
        raise ModelRefused(f"{file}: cannot read model file: {error.strerror}") from None
    digest = hashlib.sha256(content).hexdigest()
    if digest != variant.sha256:
        raise ModelRefused(f"{file}: sha256 is {digest}, the manifest says {variant.sha256} "
                           f"({len(content)} bytes, the manifest says {variant.bytes})")
    return content


def _runner(file: Path, variant: Variant, content: bytes) -> Runner:
    from edge.inference import RuntimeUnavailable
    try:
        runner = open_runner(variant.backend, content)
    except RuntimeUnavailable:
        raise
    # Runtimes raise their own exception types for a file they cannot parse.
    except Exception as error:
        raise ModelRefused(f"{file}: {variant.key} runtime cannot load it: {error}") from None
    return runner


def _check_widths(manifest: ModelManifest, runner: Runner, file: Path) -> None:
    expected = (len(manifest.feature_names), len(manifest.output_names))
    if (runner.input_width, runner.output_width) != expected:
        raise ModelRefused(f"{file}: takes {runner.input_width} features and returns "
                           f"{runner.output_width} outputs; the manifest says {expected[0]} "
                           f"and {expected[1]}")


def _check_reference(model: Model, file: Path) -> None:
    manifest = model.manifest
    key = f"{model.backend}/{model.precision}"
    expected = np.asarray(manifest.reference_output[key], dtype=np.float32)
    try:
        actual = model.predict(np.asarray(manifest.reference_input, dtype=np.float32))
    except Exception as error:
        raise ModelRefused(f"{file}: fails on the manifest's reference input: {error}") from None
    if actual.shape != expected.shape:
        raise ModelRefused(f"{file}: returns outputs shaped {actual.shape} for the reference "
                           f"input, the manifest expects {expected.shape}")
    difference = np.abs(actual - expected)
    tolerance = REFERENCE_TOLERANCE[model.precision]
    if not difference.max() <= tolerance:
        row, column = np.unravel_index(np.argmax(difference), difference.shape)
        raise ModelRefused(
            f"{file}: reference check failed: output {manifest.output_names[column]!r} of "
            f"reference row {row} is {actual[row, column]:.6f}, the manifest says "
            f"{expected[row, column]:.6f} (tolerance {tolerance})")
