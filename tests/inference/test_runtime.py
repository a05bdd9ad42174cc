"""The model runtime on tests/data/models/tiny (made by tools/make_test_model.py): every backend
and precision against a numpy forward pass of the float weights, and the refusals."""

import hashlib
import json
import shutil
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge.bench.inference import run_inference_benchmark
from edge.inference import ModelRefused, RuntimeUnavailable, load_manifest, load_model

TINY = Path(__file__).resolve().parent.parent / "data" / "models" / "tiny"
VARIANTS = [("onnx", "float"), ("onnx", "int8"), ("litert", "float"), ("litert", "int8")]
# Largest error of an int8 variant against the float weights for rows within two standard
# deviations of the mean, the range that the calibration rows covered.
INT8_TOLERANCE = 0.04


def rows(count: int, seed: int = 1) -> np.ndarray:
    manifest = load_manifest(TINY / "manifest.json")
    deviations = np.clip(np.random.default_rng(seed).normal(size=(count, 4)), -2, 2)
    values = np.asarray(manifest.feature_mean) + np.asarray(manifest.feature_scale) * deviations
    return values.astype(np.float32)


def numpy_forward(features: np.ndarray) -> np.ndarray:
    manifest = load_manifest(TINY / "manifest.json")
    weights = np.load(TINY / "weights.npz")
    standardized = (features - np.asarray(manifest.feature_mean)) / manifest.feature_scale
    hidden = np.maximum(standardized @ weights["weights0"] + weights["bias0"], 0)
    result: np.ndarray = 1 / (1 + np.exp(-(hidden @ weights["weights1"] + weights["bias1"])))
    return result


@pytest.mark.parametrize(("backend", "precision"), VARIANTS)
def test_every_variant_matches_the_float_weights(backend: str, precision: str) -> None:
    model = load_model(TINY / "manifest.json", backend, precision)
    features = rows(500)
    outputs = model.predict(features)
    assert (model.name, model.version, model.backend, model.precision) == \
        ("tiny", "1.0.0", backend, precision)
    assert outputs.shape == (500, 1)
    assert outputs.dtype == np.float32
    error = np.abs(outputs - numpy_forward(features))
    if precision == "float":
        assert error.max() < 1e-5
    else:
        assert error.max() < INT8_TOLERANCE
        assert error.mean() < 0.01


@pytest.mark.parametrize("precision", ["float", "int8"])
def test_both_backends_agree(precision: str) -> None:
    features = rows(300, seed=2)
    onnx = load_model(TINY / "manifest.json", "onnx", precision).predict(features)
    litert = load_model(TINY / "manifest.json", "litert", precision).predict(features)
    np.testing.assert_allclose(onnx, litert, atol=1e-5 if precision == "float" else 0.05)


@pytest.mark.parametrize(("backend", "precision"), VARIANTS)
def test_one_row_at_a_time_equals_a_batch(backend: str, precision: str) -> None:
    model = load_model(TINY / "manifest.json", backend, precision)
    features = rows(20, seed=3)
    batch = model.predict(features)
    one_by_one = np.vstack([model.predict(row[np.newaxis, :]) for row in features])
    # Integer kernels are exact; float kernels may sum a row in another order in a batch.
    tolerance = 0.0 if precision == "int8" else 1e-6
    np.testing.assert_allclose(one_by_one, batch, rtol=tolerance, atol=tolerance)
    np.testing.assert_array_equal(model.predict(features), batch)


def test_litert_is_the_default_backend_where_installed() -> None:
    assert load_model(TINY / "manifest.json").backend == "litert"


def test_onnx_is_the_default_without_a_litert_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("ai_edge_litert", "ai_edge_litert.interpreter", "tflite_runtime",
                   "tflite_runtime.interpreter"):
        monkeypatch.setitem(sys.modules, module, None)
    model = load_model(TINY / "manifest.json")
    assert (model.backend, model.precision) == ("onnx", "int8")


def test_tflite_runtime_under_numpy_2_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    # A stand-in tflite_runtime: the real one cannot even be installed beside NumPy 2 here.
    interpreter_module = types.ModuleType("tflite_runtime.interpreter")
    interpreter_module.Interpreter = type("Interpreter", (), {  # type: ignore[attr-defined]
        "__module__": "tflite_runtime.interpreter"})
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    monkeypatch.setitem(sys.modules, "tflite_runtime", types.ModuleType("tflite_runtime"))
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", interpreter_module)
    assert load_model(TINY / "manifest.json").backend == "onnx"
    with pytest.raises(RuntimeUnavailable, match="tflite-runtime is built for NumPy 1"):
        load_model(TINY / "manifest.json", "litert")


def test_manifest_keeps_the_model_card() -> None:
    manifest = load_manifest(TINY / "manifest.json")
    assert manifest.card["licence"] == "Apache-2.0"
    assert manifest.feature_names == ("rr_mean_ms", "rr_sd_ms", "rmssd_ms", "pnn50")
    assert manifest.thresholds == {"score": 0.5}


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A copy of the tiny model package that a test may damage; returns its manifest path."""
    copy = tmp_path / "tiny"
    shutil.copytree(TINY, copy)
    return copy / "manifest.json"


def edit_manifest(manifest_path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    document = json.loads(manifest_path.read_text())
    change(document)
    manifest_path.write_text(json.dumps(document))


def replace_model_file(manifest_path: Path, file_name: str, content: bytes) -> None:
    """Puts `content` in the model file and its true sha256 in the manifest, so that only the
    runtime can find it wrong."""
    (manifest_path.parent / file_name).write_bytes(content)

    def record(document: dict[str, Any]) -> None:
        for variant in document["variants"]:
            if variant["path"] == file_name:
                variant["sha256"] = hashlib.sha256(content).hexdigest()
                variant["bytes"] = len(content)

    edit_manifest(manifest_path, record)


@pytest.mark.parametrize(("backend", "precision"), VARIANTS)
def test_one_flipped_byte_is_refused(package: Path, backend: str, precision: str) -> None:
    model_file = package.parent / f"tiny.{precision}.{'onnx' if backend == 'onnx' else 'tflite'}"
    content = bytearray(model_file.read_bytes())
    content[len(content) // 2] ^= 0x01
    model_file.write_bytes(bytes(content))
    with pytest.raises(ModelRefused, match="sha256") as refused:
        load_model(package, backend, precision)
    assert str(model_file) in str(refused.value)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
@pytest.mark.parametrize(("backend", "precision"), VARIANTS)
def test_a_damaged_model_file_is_refused(package: Path, backend: str, precision: str,
                                         damage: str) -> None:
    file_name = f"tiny.{precision}.{'onnx' if backend == 'onnx' else 'tflite'}"
    original = (package.parent / file_name).read_bytes()
    content = {"truncated": original[: len(original) // 2],
               "garbage": bytes(range(256)) * 8,
               "empty": b""}[damage]
    if damage == "empty":
        (package.parent / file_name).write_bytes(content)
    else:
        replace_model_file(package, file_name, content)
    with pytest.raises(ModelRefused) as refused:
        load_model(package, backend, precision)
    assert str(package.parent / file_name) in str(refused.value)


def test_a_model_file_of_another_backend_is_refused(package: Path) -> None:
    replace_model_file(package, "tiny.int8.onnx", (TINY / "tiny.int8.tflite").read_bytes())
    with pytest.raises(ModelRefused, match=r"tiny\.int8\.onnx: onnx/int8 runtime cannot load"):
        load_model(package, "onnx", "int8")


def test_a_missing_model_file_is_refused(package: Path) -> None:
    (package.parent / "tiny.int8.tflite").unlink()
    with pytest.raises(ModelRefused, match=r"tiny\.int8\.tflite: model file not found"):
        load_model(package, "litert", "int8")


@pytest.mark.parametrize("backend", ["onnx", "litert"])
def test_outputs_unlike_the_reference_are_refused(package: Path, backend: str) -> None:
    def shift(document: dict[str, Any]) -> None:
        document["reference"]["output"][f"{backend}/int8"][2][0] += 0.1

    edit_manifest(package, shift)
    with pytest.raises(ModelRefused, match="reference check failed: output 'score' of "
                                           "reference row 2"):
        load_model(package, backend, "int8")


def _delete(*keys: str | int) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        parent: Any = document
        for key in keys[:-1]:
            parent = parent[key]
        del parent[keys[-1]]
    return change


def _set(value: Any, *keys: str | int) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        parent: Any = document
        for key in keys[:-1]:
            parent = parent[key]
        parent[keys[-1]] = value
    return change


@pytest.mark.parametrize(("change", "message"), [
    (_delete("inputs", "standardize", "scale"), "key inputs.standardize.scale: missing"),
    (_delete("variants", 2, "sha256"), "key variants[2].sha256: missing"),
    (_delete("reference", "output", "onnx/float"), "key reference.output.onnx/float: missing"),
    (_set(1, "variants", 1, "extra"), "key variants[1].extra: unknown key"),
    (_set([1], "inputs", "standardise"), "key inputs.standardise: unknown key"),
    (_set(0.0, "inputs", "standardize", "scale", 3), "key inputs.standardize.scale: every scale "
                                                     "must be positive"),
    (_set([1.0, 2.0], "inputs", "standardize", "mean"), "key inputs.standardize.mean: expected 4 "
                                                        "numbers, found 2"),
    (_set("int4", "variants", 0, "precision"), "key variants[0].precision: 'int4' is not one of"),
    (_set("../tiny.int8.onnx", "variants", 1, "path"), "key variants[1].path: must be a file name"),
    (_set("high", "thresholds", "score"), "key thresholds.score: expected a finite number"),
    (_set([[0.5], [0.5]], "reference", "output", "litert/int8"),
     "key reference.output.litert/int8: expected 5 rows"),
    (_set({}, "outputs"), "key outputs: expected a list"),
    (_set("yesterday", "created"), "key created: expected a date as YYYY-MM-DD"),
    (_delete("version"), "key version: missing"),
])
def test_a_bad_manifest_is_refused_naming_the_key(package: Path,
                                                   change: Callable[[dict[str, Any]], None],
                                                   message: str) -> None:
    edit_manifest(package, change)
    with pytest.raises(ModelRefused) as refused:
        load_model(package, "onnx", "float")
    assert str(refused.value).startswith(f"{package}: {message}")


def test_a_manifest_that_is_not_json_is_refused(package: Path) -> None:
    package.write_text('{"name": "tiny",')
    with pytest.raises(ModelRefused, match=r"manifest\.json: cannot read manifest"):
        load_manifest(package)


def test_a_missing_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelRefused, match=r"nowhere\.json: manifest not found"):
        load_manifest(tmp_path / "nowhere.json")


def test_an_absent_variant_is_refused(package: Path) -> None:
    def drop_litert_float(document: dict[str, Any]) -> None:
        document["variants"] = [variant for variant in document["variants"]
                                if variant["path"] != "tiny.float.tflite"]
        del document["reference"]["output"]["litert/float"]

    edit_manifest(package, drop_litert_float)
    with pytest.raises(ModelRefused, match="no litert/float variant"):
        load_model(package, "litert", "float")


def test_an_unknown_backend_or_precision_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown backend 'tensorrt'"):
        load_model(TINY / "manifest.json", "tensorrt", "int8")
    with pytest.raises(ValueError, match="unknown precision 'int4'"):
        load_model(TINY / "manifest.json", "onnx", "int4")


@pytest.mark.parametrize("shape", [(3, 3), (3, 5), (4,), (1, 2, 4)])
def test_rows_of_the_wrong_shape_are_a_clear_value_error(shape: tuple[int, ...]) -> None:
    model = load_model(TINY / "manifest.json", "onnx", "int8")
    with pytest.raises(ValueError, match=r"takes rows of 4 features \(rr_mean_ms, rr_sd_ms, "
                                         r"rmssd_ms, pnn50\)"):
        model.predict(np.zeros(shape, dtype=np.float32))


def test_features_that_are_not_finite_are_a_value_error() -> None:
    model = load_model(TINY / "manifest.json", "litert", "int8")
    features = rows(4)
    features[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"not finite in rows \[2\]"):
        model.predict(features)


def test_the_benchmark_measures_every_variant() -> None:
    result = run_inference_benchmark(TINY.parent, calls=50)
    measured = {(variant["backend"], variant["precision"]): variant
                for variant in result["variants"]}
    assert set(measured) == set(VARIANTS)
    for figures in measured.values():
        assert 0 < figures["window_median_us"] <= figures["window_p99_us"]
        assert figures["batch_rows_per_s"] > 0
        assert figures["python_peak_bytes"] > 0
    assert result["max_rss_kib"]["after"] >= result["max_rss_kib"]["before"] > 0
