"""Model runtimes on the gateway: ONNX Runtime, and LiteRT with tflite-runtime as a fallback.

`load_model(manifest_path)` loads a model package written by tools/modelkit/export.py and
returns a `Model` whose `predict` takes raw feature rows.
"""

import importlib
from typing import Any

from edge.inference.manifest import ModelManifest, ModelRefused, Variant, load_manifest
from edge.inference.model import Model, default_backend, load_model

__all__ = [
    "Model",
    "ModelManifest",
    "ModelRefused",
    "RuntimeUnavailable",
    "Variant",
    "available_runtimes",
    "default_backend",
    "litert_interpreter_class",
    "load_manifest",
    "load_model",
]


class RuntimeUnavailable(Exception):
    pass


def litert_interpreter_class() -> Any:
    """LiteRT's `Interpreter`, from ai-edge-litert, or from tflite-runtime where only it exists."""
    for module in ("ai_edge_litert.interpreter", "tflite_runtime.interpreter"):
        try:
            return importlib.import_module(module).Interpreter
        except ImportError:
            continue
    raise RuntimeUnavailable("neither ai-edge-litert nor tflite-runtime is installed; "
                             "install with: pip install ai-edge-litert")


def available_runtimes() -> dict[str, str | None]:
    """Installed version of each model runtime package, None where it is missing."""
    # Here, not at the top: importlib.metadata costs the running gateway memory for nothing.
    from importlib import metadata
    versions: dict[str, str | None] = {}
    for package in ("onnxruntime", "ai-edge-litert", "tflite-runtime"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions
