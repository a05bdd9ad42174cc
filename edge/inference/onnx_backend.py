"""ONNX Runtime backend: runs standardized float32 rows through an ONNX model (float or QDQ int8;
the QDQ model quantizes inside the graph, so both take and return float32)."""

import numpy as np

from edge.inference import RuntimeUnavailable


class OnnxRunner:
    backend = "onnx"

    def __init__(self, content: bytes) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise RuntimeUnavailable("onnxruntime is not installed; install with: "
                                     "pip install onnxruntime") from None
        options = onnxruntime.SessionOptions()
        # One row per window is a few microseconds of work: more threads only add hand-offs.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(content, sess_options=options,
                                                     providers=["CPUExecutionProvider"])
        (model_input,) = self._session.get_inputs()
        (model_output,) = self._session.get_outputs()
        self._input_name: str = model_input.name
        self._output_name: str = model_output.name
        self.input_width = _width(model_input.shape)
        self.output_width = _width(model_output.shape)

    def run(self, standardized: np.ndarray) -> np.ndarray:
        (output,) = self._session.run([self._output_name], {self._input_name: standardized})
        result: np.ndarray = np.asarray(output, dtype=np.float32)
        return result


def _width(shape: list[int | str | None]) -> int:
    if len(shape) != 2 or not isinstance(shape[1], int):
        raise ValueError(f"expected a (batch, width) tensor, the model has shape {shape}")
    return shape[1]
