"""`edge bench analyze`: how fast the gateway analyses ECG on one core.

- R peaks + AF: the streaming R-peak detector and the AF detector (RR features and the AF
  model, one window every few beats) over whole MIT-BIH records; hours of ECG per CPU-second.
- The whole streaming analysis (edge.detect.rhythm: R peaks, signal quality, every beat's
  features and PVC call, AF) over the same records.
- The cost of one 60-beat window: our RR features and model call, against NeuroKit2's
  `hrv_time` on the same intervals, as a user would otherwise compute HRV (when NeuroKit2 is
  installed; it is not a dependency of the gateway).
- Peak memory: Python allocations (tracemalloc) and the process's peak resident memory.
"""

import importlib.util
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edge.bench.timing import machine
from edge.detect.af import AfDetector
from edge.detect.rhythm import EcgRhythm, RhythmModels
from edge.detector_models import DetectorModels, model_name
from edge.records.wfdb import Record, read_record
from edge.signals.rpeaks import RPeakDetector
from edge.signals.rr_features import rr_window_features

_CHUNK_S = 1.0
_WINDOW_BEATS = 60
_WINDOW_CALLS = 2_000
_NEUROKIT_CALLS = 200


def run_analyze_benchmark(data_dir: Path, models: DetectorModels) -> dict[str, Any]:
    records = [read_record(header) for header in sorted((data_dir / "mitdb").glob("*.hea"))]
    if not records:
        raise FileNotFoundError(f"{data_dir / 'mitdb'}: no WFDB records (*.hea) there")
    hours = sum(record.signal_mv.size / record.fs for record in records) / 3600
    rr_models = models.rhythm(ecg=False)
    peaks_af_s = _cpu_seconds(_peaks_and_af, records, rr_models)
    full_s = _cpu_seconds(_full_analysis, records, models.rhythm(ecg=True))
    rr = _rr_window(records[0])
    return {
        "benchmark": "analyze",
        **machine(),
        "records": [record.name for record in records],
        "hours_of_ecg": round(hours, 3),
        "models": {"af": model_name(models.af_rr), "pvc": model_name(models.pvc)},
        "r_peaks_and_af": _throughput(hours, peaks_af_s),
        "full_analysis": _throughput(hours, full_s),
        "window_60_beats_us": {
            "rr_features": _median_us(lambda: rr_window_features(rr)),
            "rr_features_and_model": _median_us(lambda: _classify(rr_models, rr)),
            "neurokit2_hrv_time": _neurokit_us(rr),
        },
        "memory": _memory(records[0], models),
    }


def _peaks_and_af(record: Record, models: RhythmModels) -> None:
    detector = RPeakDetector(record.fs)
    af = AfDetector(models.af, models.af_settings)
    chunk = round(record.fs * _CHUNK_S)
    previous: int | None = None
    for start in range(0, record.signal_mv.size, chunk):
        for peak in detector.push(record.signal_mv[start:start + chunk]):
            if previous is not None:
                af.push(peak / record.fs, (peak - previous) / record.fs)
            previous = peak


def _full_analysis(record: Record, models: RhythmModels) -> None:
    rhythm = EcgRhythm(record.fs, 0.0, models)
    chunk = round(record.fs * _CHUNK_S)
    for start in range(0, record.signal_mv.size, chunk):
        rhythm.push(record.signal_mv[start:start + chunk])
    rhythm.flush()


def _cpu_seconds(analysis: Callable[[Record, RhythmModels], None], records: list[Record],
                 models: RhythmModels) -> float:
    started = time.process_time()
    for record in records:
        analysis(record, models)
    return time.process_time() - started


def _throughput(hours: float, cpu_s: float) -> dict[str, float]:
    return {"cpu_s": round(cpu_s, 3), "hours_per_cpu_s": round(hours / cpu_s, 3),
            "times_real_time": round(hours * 3600 / cpu_s)}


def _rr_window(record: Record) -> np.ndarray:
    peaks = RPeakDetector(record.fs).push(record.signal_mv[:round(record.fs * 120)])
    return np.diff(np.asarray(peaks[:_WINDOW_BEATS + 1], dtype=np.float64)) / record.fs


def _classify(models: RhythmModels, rr: np.ndarray) -> object:
    features = rr_window_features(rr)[None, :]
    return models.af.predict(features) if models.af else None


def _median_us(work: Any, calls: int = _WINDOW_CALLS) -> float:
    for _ in range(calls // 10):
        work()
    timings = []
    for _ in range(calls):
        started = time.perf_counter_ns()
        work()
        timings.append((time.perf_counter_ns() - started) / 1e3)
    return round(statistics.median(timings), 1)


def _neurokit_us(rr: np.ndarray) -> float | str:
    if importlib.util.find_spec("neurokit2") is None:
        return "not installed"
    import neurokit2

    peaks = np.concatenate(([0], np.cumsum(np.round(rr * 1000)))).astype(int)
    return _median_us(lambda: neurokit2.hrv_time(peaks, sampling_rate=1000),
                      _NEUROKIT_CALLS)


def _memory(record: Record, models: DetectorModels) -> dict[str, int]:
    tracemalloc.start()
    try:
        _full_analysis(record, models.rhythm(ecg=True))
        python_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return {"python_peak_bytes": python_peak,
            "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
