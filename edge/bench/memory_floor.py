"""The least memory any gateway built on these libraries can take: a process that imports what
the gateway imports from outside this project (asyncio, sqlite3, NumPy, paho, cryptography,
bleak and dbus-fast, LiteRT) and runs the shipped int8 models once, with no gateway at all.
Beside the gateway's own peak, it shows how much of that peak is ours."""

import subprocess
import sys
from pathlib import Path

from edge.shipped import shipped_dir

_MODELS = ("af_rr", "af_ecg", "pvc_beat")
# Prints the resident memory (KiB) after each step, then the peak.
_LIBRARIES_AND_MODELS = """
import sys

def resident(step):
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    print(step, status["VmRSS"].split()[0], status["VmHWM"].split()[0])

resident("python")
import asyncio, json, logging, sqlite3, ssl, tomllib
resident("standard_library")
import numpy, numpy.fft, numpy.ma
resident("numpy")
import paho.mqtt.client
resident("paho")
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
resident("cryptography")
import bleak, bleak_retry_connector, dbus_fast.aio
resident("bleak")
from edge.inference.litert_backend import LiteRtRunner
resident("litert")
for path in sys.argv[1:]:
    runner = LiteRtRunner(open(path, "rb").read())
    runner.run(numpy.zeros((1, runner.input_width), dtype=numpy.float32))
resident("models")
"""


def library_floor_kib(models: Path | None = None) -> dict[str, int]:
    """The resident memory (KiB) after importing each library in turn and after running the
    shipped int8 LiteRT models, and the peak (VmHWM) at the end."""
    folder = models or shipped_dir("models")
    files = [str(folder / name / f"{name}.int8.tflite") for name in _MODELS]
    result = subprocess.run([sys.executable, "-c", _LIBRARIES_AND_MODELS, *files],
                            capture_output=True, text=True, timeout=120, check=True)
    steps = [line.split() for line in result.stdout.splitlines()]
    return {f"after_{step}": int(rss) for step, rss, _ in steps} | {"peak": int(steps[-1][2])}
