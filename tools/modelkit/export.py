"""Exports a small MLP (dense layers) as ONNX and TFLite, each in float and in int8, with the
manifest.json that the gateway's `edge.inference.load_model` reads.

Runs in the training environment (.venv-train): TensorFlow, onnx and onnxruntime's
quantization tools are imported here, never on the gateway (TensorFlow only when a TFLite file
is made: its import takes seconds). Standardization happens outside the models, in the
gateway's runtime, from the manifest's mean and scale: a full-integer TFLite model has one scale
for its whole input, so the features must share a range before they enter it.
"""

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

from edge.inference.manifest import REQUIRED_KEYS, variant_key
from edge.inference.model import open_runner

ACTIVATIONS = ("relu", "sigmoid", "linear")
MAX_MODEL_BYTES = 64 * 1024
REFERENCE_ROWS = 5
# How far an int8 variant's probabilities may stray from the float weights' before the export
# is refused: further means the calibration rows do not cover the inputs, or the model does not
# survive 8 bits.
MAX_INT8_DEVIATION = 0.05
MAX_FLOAT_DEVIATION = 1e-4
_ONNX_OPSET = 17
_ONNX_IR_VERSION = 8  # read by every onnxruntime since 1.13
_INPUT = "features"
_OUTPUT = "probabilities"
_SUFFIX = {"onnx": "onnx", "litert": "tflite"}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class DenseLayer:
    weights: np.ndarray  # (inputs, outputs) float32
    bias: np.ndarray  # (outputs,) float32
    activation: str  # "relu" | "sigmoid" | "linear"


class ExportError(ValueError):
    """The model cannot be exported as asked: the message says why."""


def export_mlp(*, name: str, version: str, layers: list[DenseLayer], feature_names: list[str],
               feature_mean: np.ndarray, feature_scale: np.ndarray, representative: np.ndarray,
               output_names: list[str], thresholds: dict[str, float], card: dict[str, Any],
               out_dir: Path) -> Path:
    """Writes out_dir/{name}.float.onnx, {name}.int8.onnx, {name}.float.tflite,
    {name}.int8.tflite and out_dir/manifest.json; returns the manifest path. `representative`
    is raw (unstandardized) feature rows used for calibration and for the reference check."""
    if not _NAME.fullmatch(name):
        raise ExportError(f"name {name!r} must be letters, digits, '_', '.' or '-': it names "
                          f"the model files")
    _check_model(layers, feature_names, output_names)
    _check_standardization(feature_names, feature_mean, feature_scale, representative)
    _check_card(card)
    standardized = _standardize(representative, feature_mean, feature_scale)
    files = {
        ("onnx", "float"): _onnx_float(layers),
        ("onnx", "int8"): _onnx_int8(layers, standardized),
        ("litert", "float"): _tflite(layers, standardized, int8=False),
        ("litert", "int8"): _tflite(layers, standardized, int8=True),
    }
    file_names = {key: f"{name}.{key[1]}.{_SUFFIX[key[0]]}" for key in files}
    for key, content in files.items():
        _check_size(file_names[key], content)
    reference_rows = _reference_rows(layers, representative, feature_mean, feature_scale)
    outputs = {
        variant_key(*key): _reference_output(key, content, layers, reference_rows, feature_mean,
                                             feature_scale)
        for key, content in files.items()
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    variants = [_write_variant(out_dir / file_names[key], key, content)
                for key, content in files.items()]
    manifest = {
        "name": name,
        "version": version,
        "created": datetime.now(UTC).date().isoformat(),
        "inputs": {
            "features": list(feature_names),
            "dtype": "float32",
            "standardize": {"mean": _floats(feature_mean), "scale": _floats(feature_scale)},
        },
        "outputs": list(output_names),
        "thresholds": {key: float(value) for key, value in thresholds.items()},
        "variants": variants,
        "reference": {"input": [_floats(row) for row in reference_rows], "output": outputs},
        **card,
    }
    manifest_path = out_dir / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest_path



def forward(layers: list[DenseLayer], standardized: np.ndarray) -> np.ndarray:
    """The float model in numpy: what every variant approximates."""
    values = standardized.astype(np.float64)
    for layer in layers:
        values = values @ layer.weights.astype(np.float64) + layer.bias.astype(np.float64)
        if layer.activation == "relu":
            values = np.maximum(values, 0.0)
        elif layer.activation == "sigmoid":
            values = 1.0 / (1.0 + np.exp(-values))
    return values.astype(np.float32)


def _check_model(layers: list[DenseLayer], feature_names: list[str],
                 output_names: list[str]) -> None:
    if not layers:
        raise ExportError("no layers")
    width = len(feature_names)
    for index, layer in enumerate(layers):
        if layer.activation not in ACTIVATIONS:
            raise ExportError(f"layer {index}: activation {layer.activation!r} is not one of "
                              f"{', '.join(ACTIVATIONS)}")
        if layer.weights.ndim != 2 or layer.weights.shape[0] != width:
            raise ExportError(f"layer {index}: weights shaped {layer.weights.shape}, expected "
                              f"({width}, outputs)")
        width = layer.weights.shape[1]
        if layer.bias.shape != (width,):
            raise ExportError(f"layer {index}: bias shaped {layer.bias.shape}, expected "
                              f"({width},)")
        if not (np.isfinite(layer.weights).all() and np.isfinite(layer.bias).all()):
            raise ExportError(f"layer {index}: weights or bias are not finite")
    if width != len(output_names):
        raise ExportError(f"the last layer has {width} outputs, but {len(output_names)} output "
                          f"names are given")
    if layers[-1].activation != "sigmoid":
        raise ExportError("the last layer's activation must be sigmoid: the outputs are "
                          "probabilities")


def _check_standardization(feature_names: list[str], mean: np.ndarray, scale: np.ndarray,
                           representative: np.ndarray) -> None:
    width = len(feature_names)
    if mean.shape != (width,) or scale.shape != (width,):
        raise ExportError(f"feature_mean {mean.shape} and feature_scale {scale.shape} must "
                          f"both be shaped ({width},), one per feature")
    if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
        raise ExportError("feature_mean must be finite and feature_scale finite and positive")
    if representative.ndim != 2 or representative.shape[1] != width or len(representative) == 0:
        raise ExportError(f"representative rows shaped {representative.shape}, expected "
                          f"(rows, {width})")
    if not np.isfinite(representative).all():
        raise ExportError("representative rows are not all finite")


def _check_card(card: dict[str, Any]) -> None:
    clashes = sorted(set(card) & set(REQUIRED_KEYS))
    if clashes:
        raise ExportError(f"card keys {clashes} clash with the manifest's own keys")
    try:
        json.dumps(card)
    except TypeError as error:
        raise ExportError(f"card is not JSON: {error}") from None


def _check_size(file_name: str, content: bytes) -> None:
    if len(content) > MAX_MODEL_BYTES:
        raise ExportError(f"{file_name} would be {len(content)} bytes, over the limit of "
                          f"{MAX_MODEL_BYTES}")


def _standardize(rows: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    standardized: np.ndarray = ((rows - mean) / scale).astype(np.float32)
    return standardized


def _floats(values: np.ndarray) -> list[float]:
    return [float(value) for value in values]


def _reference_rows(layers: list[DenseLayer], representative: np.ndarray, mean: np.ndarray,
                    scale: np.ndarray) -> np.ndarray:
    """A few representative rows spread over the first output's range, low to high."""
    scores = forward(layers, _standardize(representative, mean, scale))[:, 0]
    order = np.argsort(scores, kind="stable")
    picks = np.unique(np.linspace(0, len(order) - 1, REFERENCE_ROWS).round().astype(int))
    rows: np.ndarray = representative[order[picks]].astype(np.float32)
    return rows


def _reference_output(key: tuple[str, str], content: bytes, layers: list[DenseLayer],
                      rows: np.ndarray, mean: np.ndarray,
                      scale: np.ndarray) -> list[list[float]]:
    """The variant's outputs on the reference rows, by the gateway's own runtime code; refuses a
    variant that strays from the float weights."""
    standardized = _standardize(rows, mean, scale)
    output = open_runner(key[0], content).run(standardized)
    deviation = float(np.abs(output - forward(layers, standardized)).max())
    limit = MAX_INT8_DEVIATION if key[1] == "int8" else MAX_FLOAT_DEVIATION
    if not deviation <= limit:
        raise ExportError(f"{variant_key(*key)} differs from the float weights by {deviation:.4f} "
                          f"on the reference rows (limit {limit}); for int8, check that the "
                          f"representative rows cover the inputs the model will see")
    return [_floats(row) for row in output]


def _write_variant(path: Path, key: tuple[str, str], content: bytes) -> dict[str, Any]:
    path.write_bytes(content)
    backend, precision = key
    return {"backend": backend, "precision": precision, "path": path.name,
            "sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}


def _onnx_graph(layers: list[DenseLayer]) -> onnx.ModelProto:
    nodes = []
    initializers = []
    previous = _INPUT
    for index, layer in enumerate(layers):
        weights, bias = f"dense{index}.weights", f"dense{index}.bias"
        initializers += [numpy_helper.from_array(layer.weights.astype(np.float32), weights),
                         numpy_helper.from_array(layer.bias.astype(np.float32), bias)]
        nodes += [helper.make_node("MatMul", [previous, weights], [f"dense{index}.matmul"]),
                  helper.make_node("Add", [f"dense{index}.matmul", bias], [f"dense{index}.add"])]
        previous = f"dense{index}.add"
        if layer.activation != "linear":
            operator = {"relu": "Relu", "sigmoid": "Sigmoid"}[layer.activation]
            nodes.append(helper.make_node(operator, [previous], [f"dense{index}.{operator}"]))
            previous = f"dense{index}.{operator}"
    nodes[-1].output[0] = _OUTPUT
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info(_INPUT, TensorProto.FLOAT,
                                       ["batch", layers[0].weights.shape[0]])],
        [helper.make_tensor_value_info(_OUTPUT, TensorProto.FLOAT,
                                       ["batch", layers[-1].weights.shape[1]])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _ONNX_OPSET)],
                              producer_name="edge.modelkit")
    model.ir_version = _ONNX_IR_VERSION
    return model


def _onnx_float(layers: list[DenseLayer]) -> bytes:
    model = _onnx_graph(layers)
    onnx.checker.check_model(model, full_check=True)
    content: bytes = model.SerializeToString()
    return content


class _CalibrationRows:
    """Standardized rows one at a time, for quantize_static: onnxruntime's CalibrationDataReader
    takes any class with `get_next` for one of its own."""

    def __init__(self, standardized: np.ndarray) -> None:
        self._rows: Iterator[np.ndarray] = iter(standardized)

    def get_next(self) -> dict[str, np.ndarray] | None:
        row = next(self._rows, None)
        return None if row is None else {_INPUT: row[np.newaxis, :]}


def _onnx_int8(layers: list[DenseLayer], standardized: np.ndarray) -> bytes:
    reader = _CalibrationRows(standardized)
    with tempfile.TemporaryDirectory() as scratch:
        float_path, int8_path = Path(scratch, "float.onnx"), Path(scratch, "int8.onnx")
        float_path.write_bytes(_onnx_float(layers))
        quantize_static(str(float_path), str(int8_path), reader,
                        quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8,
                        weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax)
        return int8_path.read_bytes()


def _keras_model(layers: list[DenseLayer]) -> Any:
    import keras

    inputs = keras.Input(shape=(layers[0].weights.shape[0],), name=_INPUT, dtype="float32")
    values = inputs
    for layer in layers:
        dense = keras.layers.Dense(layer.weights.shape[1], activation=layer.activation)
        values = dense(values)
        dense.set_weights([layer.weights.astype(np.float32), layer.bias.astype(np.float32)])
    return keras.Model(inputs, values)


def _tflite(layers: list[DenseLayer], standardized: np.ndarray, *, int8: bool) -> bytes:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(_keras_model(layers))
    if int8:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([row[np.newaxis, :]] for row in standardized)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    content: bytes = converter.convert()
    return content
