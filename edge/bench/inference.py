"""`edge bench inference`: latency of one window (one row of features) and batch throughput for
every model package under a directory, on each backend and precision, with memory figures."""

import resource
import statistics
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from edge.bench.timing import machine, per_second
from edge.inference import (
    ModelRefused,
    RuntimeUnavailable,
    available_runtimes,
    load_manifest,
    load_model,
)
from edge.inference.manifest import BACKENDS, PRECISIONS, ModelManifest

_CALLS = 5_000
_WARM_UP_CALLS = 200
_BATCH_ROWS = 1_024
_BATCH_ROUNDS = 5


def run_inference_benchmark(models_dir: Path, calls: int = _CALLS) -> dict[str, Any]:
    """Figures for every model package in `models_dir` x backend x precision; a variant that
    cannot run here is listed with the reason."""
    manifests = sorted(models_dir.glob("*/manifest.json"))
    if not manifests:
        raise ModelRefused(f"{models_dir}: no model package (a folder with manifest.json) in it")
    rss_before_kib = _max_rss_kib()
    variants = [_variant(path, backend, precision, calls) for path in manifests
                for backend in BACKENDS for precision in PRECISIONS]
    return {
        "benchmark": "inference",
        **machine(),
        "runtimes": available_runtimes(),
        "calls_per_variant": calls,
        "batch_rows": _BATCH_ROWS,
        "variants": variants,
        # The process's peak resident memory, before any model was loaded and after all ran.
        "max_rss_kib": {"before": rss_before_kib, "after": _max_rss_kib()},
    }


def _max_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _variant(manifest_path: Path, backend: str, precision: str, calls: int) -> dict[str, Any]:
    manifest = load_manifest(manifest_path)
    figures: dict[str, Any] = {"model": manifest.name, "version": manifest.version,
                               "backend": backend, "precision": precision}
    try:
        # Once untimed: imports the runtime, which neither the load time nor the memory counts.
        load_model(manifest_path, backend, precision)
    except (ModelRefused, RuntimeUnavailable) as error:
        return {**figures, "skipped": str(error)}
    rows = _rows(manifest, _BATCH_ROWS)
    python_peak_bytes = _python_peak_bytes(manifest_path, backend, precision, rows)
    started = time.perf_counter()
    model = load_model(manifest_path, backend, precision)
    load_ms = (time.perf_counter() - started) * 1e3
    window_us = _window_latencies_us(model.predict, rows, calls)
    return {
        **figures,
        "bytes": manifest.variant(backend, precision).bytes,
        "load_ms": round(load_ms, 2),
        "window_median_us": round(statistics.median(window_us), 1),
        "window_p99_us": round(float(np.percentile(window_us, 99)), 1),
        "batch_rows_per_s": round(_batch_rows_per_s(model.predict, rows)),
        "python_peak_bytes": python_peak_bytes,
    }


def _rows(manifest: ModelManifest, count: int) -> np.ndarray:
    """Feature rows spread as the model's own standardization expects."""
    deviations = np.random.default_rng(0).normal(size=(count, len(manifest.feature_names)))
    rows = np.asarray(manifest.feature_mean) + np.asarray(manifest.feature_scale) * deviations
    return rows.astype(np.float32)


def _window_latencies_us(predict: Any, rows: np.ndarray, calls: int) -> list[float]:
    windows = [rows[index % len(rows)][np.newaxis, :] for index in range(calls)]
    for window in windows[:_WARM_UP_CALLS]:
        predict(window)
    latencies = []
    clock = time.perf_counter_ns
    for window in windows:
        started = clock()
        predict(window)
        latencies.append((clock() - started) / 1e3)
    return latencies


def _batch_rows_per_s(predict: Any, rows: np.ndarray) -> float:
    predict(rows)
    return per_second(predict, rows, _BATCH_ROUNDS)


def _python_peak_bytes(manifest_path: Path, backend: str, precision: str,
                       rows: np.ndarray) -> int:
    """Peak of Python-side allocations while loading the model and running a batch; memory that
    the runtimes allocate natively is only in the process's max RSS."""
    tracemalloc.start()
    try:
        load_model(manifest_path, backend, precision).predict(rows)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
