"""The LiteRT backend on tflite-runtime 2.14 (NumPy 1, no ai-edge-litert), in the second
environment .venv-tflite that tools/make_tflite_env.sh makes: the same outputs as ai-edge-litert
gives here. Deselect with `-m "not tflite_fallback"`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge.inference import load_model

pytestmark = pytest.mark.tflite_fallback

REPO = Path(__file__).resolve().parents[2]
TINY_MANIFEST = REPO / "tests" / "data" / "models" / "tiny" / "manifest.json"
# make_tflite_env.sh exits with this when the package index cannot provide the packages.
PACKAGES_UNAVAILABLE = 75

RUN_IN_SECOND_ENVIRONMENT = """
import importlib.util, json, sys
from pathlib import Path
import numpy as np
from edge.inference import litert_interpreter_class, load_model

manifest, rows = Path(sys.argv[1]), np.array(json.loads(sys.argv[2]), dtype=np.float32)
interpreter = litert_interpreter_class()
print(json.dumps({
    "interpreter": f"{interpreter.__module__}.{interpreter.__name__}",
    "ai_edge_litert_installed": importlib.util.find_spec("ai_edge_litert") is not None,
    "numpy": np.__version__,
    "outputs": {precision: load_model(manifest, "litert", precision).predict(rows).tolist()
                for precision in ("float", "int8")},
}))
"""


@pytest.fixture(scope="module")
def tflite_python() -> Path:
    made = subprocess.run(["bash", str(REPO / "tools" / "make_tflite_env.sh")],
                          env={**os.environ, "PYTHON": sys.executable},
                          capture_output=True, text=True, timeout=900, check=False)
    if made.returncode == PACKAGES_UNAVAILABLE:
        reason = " / ".join(made.stderr.strip().splitlines()[-3:])
        pytest.skip(f"cannot create .venv-tflite: {reason}")
    assert made.returncode == 0, made.stderr
    return REPO / ".venv-tflite" / "bin" / "python"


def test_tflite_runtime_gives_the_outputs_of_ai_edge_litert(tflite_python: Path) -> None:
    rows = np.random.default_rng(5).normal([800, 60, 40, 0.2], [120, 30, 25, 0.15], (50, 4))
    ran = subprocess.run(
        [str(tflite_python), "-c", RUN_IN_SECOND_ENVIRONMENT, str(TINY_MANIFEST),
         json.dumps(rows.tolist())],
        env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO,
        capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    second = json.loads(ran.stdout)
    assert second["interpreter"] == "tflite_runtime.interpreter.Interpreter"
    assert not second["ai_edge_litert_installed"]
    assert second["numpy"].startswith("1.")
    for precision in ("float", "int8"):
        here = load_model(TINY_MANIFEST, "litert", precision).predict(rows.astype(np.float32))
        # Integer kernels are exact; the two builds' float kernels may round differently.
        tolerance = 0.0 if precision == "int8" else 1e-6
        np.testing.assert_allclose(np.array(second["outputs"][precision], np.float32), here,
                                   rtol=tolerance, atol=tolerance, err_msg=f"litert/{precision}")
