"""LiteRT backend (ai-edge-litert, or tflite-runtime where only it exists). A full-integer model
takes and returns int8: rows are quantized and outputs dequantized with each tensor's own
scale and zero point."""

import sys
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.inference import RuntimeUnavailable, litert_interpreter_class


def usable_interpreter_class() -> Any:
    """LiteRT's `Interpreter`, unless it is tflite-runtime under NumPy 2, where it cannot create
    an interpreter (it is built against NumPy 1)."""
    interpreter = litert_interpreter_class()
    numpy_2 = np.lib.NumpyVersion(np.__version__) >= "2.0.0"
    if interpreter.__module__.startswith("tflite_runtime") and numpy_2:
        raise RuntimeUnavailable(f"tflite-runtime is built for NumPy 1 and cannot run under NumPy "
                                 f"{np.__version__}; install with: pip install ai-edge-litert")
    return interpreter


class LiteRtRunner:
    backend = "litert"

    def __init__(self, content: bytes) -> None:
        interpreter = usable_interpreter_class()
        # The default XNNPACK delegate buys nothing for models this small, and announces
        # itself on standard error at every load.
        plain = sys.modules[interpreter.__module__].OpResolverType
        self._interpreter = interpreter(
            model_content=content, num_threads=1,
            experimental_op_resolver_type=plain.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        self._interpreter.allocate_tensors()
        (model_input,) = self._interpreter.get_input_details()
        (model_output,) = self._interpreter.get_output_details()
        self._input_index: int = model_input["index"]
        self._output_index: int = model_output["index"]
        self._input_codec = _Codec.of(model_input)
        self._output_codec = _Codec.of(model_output)
        self.input_width = _width(model_input["shape"])
        self.output_width = _width(model_output["shape"])
        self._batch = int(model_input["shape"][0])
        # The interpreter holds one set of tensors: one caller at a time.
        self._lock = threading.Lock()

    def run(self, standardized: np.ndarray) -> np.ndarray:
        with self._lock:
            self._resize(len(standardized))
            self._interpreter.set_tensor(self._input_index,
                                         self._input_codec.encode(standardized))
            self._interpreter.invoke()
            return self._output_codec.decode(self._interpreter.get_tensor(self._output_index))

    def _resize(self, batch: int) -> None:
        if batch != self._batch:
            self._interpreter.resize_tensor_input(self._input_index, [batch, self.input_width])
            self._interpreter.allocate_tensors()
            self._batch = batch


@dataclass(frozen=True)
class _Codec:
    """Float32 to a tensor's type and back: as is for float tensors, affine for integer ones."""

    dtype: np.dtype[Any]
    scale: float = 1.0
    zero_point: int = 0

    @classmethod
    def of(cls, tensor: dict[str, Any]) -> "_Codec":
        dtype = np.dtype(tensor["dtype"])
        if dtype == np.float32:
            return cls(dtype)
        scale, zero_point = tensor["quantization"]
        if dtype.kind != "i" or scale == 0:
            raise ValueError(f"tensor {tensor['name']!r} is {dtype.name} with quantization "
                             f"scale {scale}: expected float32, or int8 with a scale")
        return cls(dtype, float(scale), int(zero_point))

    def encode(self, values: np.ndarray) -> np.ndarray:
        if self.dtype == np.float32:
            return values
        limits = np.iinfo(self.dtype)
        quantized = np.round(values / self.scale) + self.zero_point
        return np.clip(quantized, limits.min, limits.max).astype(self.dtype)

    def decode(self, values: np.ndarray) -> np.ndarray:
        return ((values.astype(np.float32) - self.zero_point) * self.scale).astype(np.float32)


def _width(shape: np.ndarray) -> int:
    if len(shape) != 2:
        raise ValueError(f"expected a (batch, width) tensor, the model has shape {list(shape)}")
    return int(shape[1])
