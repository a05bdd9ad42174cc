#!/usr/bin/env bash
# Makes .venv-tflite: a second environment with NumPy 1 and tflite-runtime 2.14 (which fails
# under NumPy 2) and without ai-edge-litert, where tests/inference/test_tflite_runtime_fallback.py
# runs the gateway's LiteRT backend on tflite-runtime. Does nothing once the environment is whole.
# Exits 75 when the package index cannot provide the packages (offline, or a Python without
# tflite-runtime wheels); the test then skips.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="$repo/.venv-tflite"
python="${PYTHON:-python3}"
packages_unavailable=75

if [ -f "$venv/installed" ]; then
    exit 0
fi
if ! "$python" -c 'import sys; sys.exit(not (3, 8) <= sys.version_info[:2] <= (3, 11))'; then
    echo "tflite-runtime 2.14 has wheels for Python 3.8 to 3.11 only, not $("$python" -V)" >&2
    exit $packages_unavailable
fi
rm -rf "$venv"
"$python" -m venv "$venv"
if ! "$venv/bin/pip" install --quiet "numpy>=1.24,<2" "tflite-runtime==2.14.0"; then
    echo "pip could not install numpy<2 and tflite-runtime==2.14.0" >&2
    exit $packages_unavailable
fi
"$venv/bin/python" -c "import tflite_runtime.interpreter"
touch "$venv/installed"
echo "made $venv"
