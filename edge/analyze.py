"""`edge analyze`: the gateway's own streaming ECG analysis (edge.detect.rhythm), run on WFDB
recordings in one-second chunks as a device would send them, with a verdict per record."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.detect.af import AfEvent, AfWindow
from edge.detect.quality import QualitySettings, WindowQuality, is_usable
from edge.detect.rhythm import EcgRhythm, EctopyCount, RhythmModels, RhythmUpdate
from edge.records.wfdb import Record, RecordError, read_record

# A record is called AF when the mean AF probability of its windows reaches the model's
# record threshold (chosen with the model, by cross-validation); the rule-based detector
# answers 0 or 1 per window, so a majority of AF windows.
_RULE_RECORD_THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class AnalysisModels:
    rhythm: RhythmModels
    af_record_threshold: float = _RULE_RECORD_THRESHOLD
    # What the verdict came from, for the report: {"af": ..., "pvc": ...}.
    names: tuple[tuple[str, str], ...] = (("af", "rules"), ("pvc", "rules"))


def analyze_file(header: Path, models: AnalysisModels, verify: bool = True) -> dict[str, Any]:
    """One record's report, or {"record": ..., "error": ...} naming what was wrong."""
    try:
        record = read_record(header, verify=verify)
    except RecordError as error:
        return {"record": str(header), "error": str(error)}
    return analyze_record(record, models) | {"record": str(header)}


def analyze_record(record: Record, models: AnalysisModels) -> dict[str, Any]:
    rhythm = EcgRhythm(record.fs, 0.0, models.rhythm)
    result = RhythmUpdate()
    chunk = max(1, round(record.fs))
    for start in range(0, record.signal_mv.size, chunk):
        result.extend(rhythm.push(record.signal_mv[start:start + chunk]))
    result.extend(rhythm.flush())
    duration_s = record.signal_mv.size / record.fs
    noisy = not is_usable(result.quality, QualitySettings())
    return {
        "name": record.name,
        "fs": record.fs,
        "duration_s": round(duration_s, 3),
        "r_peaks": [beat.sample for beat in result.beats],
        "beat_labels": "".join(_label(beat.is_pvc) for beat in result.beats),
        "pvc_burden": _pvc_burden(result, duration_s),
        "quality": [_quality(window) for window in result.quality],
        "windows": [_window(window) for window in result.af_windows],
        "episodes": _episodes(result.af_events, duration_s),
        "af_burden": round(rhythm.af.burden, 4),
        "detectors": dict(models.names),
        "verdict": {"af": not noisy and _af_record(result.af_windows, models),
                    "noisy": noisy},
    }


def _label(is_pvc: bool | None) -> str:
    return "?" if is_pvc is None else "V" if is_pvc else "N"


def _pvc_burden(result: RhythmUpdate, duration_s: float) -> float | None:
    count = EctopyCount()
    count.add(result.beats)
    burden = count.take(0.0, duration_s)
    return None if burden is None or burden.burden is None else round(burden.burden, 4)


def _quality(window: WindowQuality) -> dict[str, Any]:
    return {"start_s": round(window.start_s, 3), "end_s": round(window.end_s, 3),
            "usable": window.usable, "reasons": list(window.reasons)}


def _window(window: AfWindow) -> dict[str, Any]:
    return {"start_s": round(window.start_s, 3), "end_s": round(window.end_s, 3),
            "af_probability": round(window.probability, 4), "af": window.is_af}


def _episodes(events: list[AfEvent], duration_s: float) -> list[dict[str, Any]]:
    """Onset and offset of every AF episode; one still open ends with the record."""
    episodes = []
    for event in events:
        if event.phase == "ended":
            episodes.append({"onset_s": round(event.onset_s, 3),
                             "offset_s": round(float(event.offset_s or duration_s), 3)})
    if events and events[-1].phase == "started":
        episodes.append({"onset_s": round(events[-1].onset_s, 3), "offset_s": duration_s,
                         "open": True})
    return episodes


def _af_record(windows: list[AfWindow], models: AnalysisModels) -> bool:
    if not windows:
        return False
    mean = float(np.mean([window.probability for window in windows]))
    return mean >= models.af_record_threshold


def describe(report: dict[str, Any]) -> str:
    """One line a person can read."""
    if "error" in report:
        return str(report["error"])
    verdict = report["verdict"]
    rhythm = "too noisy to judge" if verdict["noisy"] else (
        "atrial fibrillation" if verdict["af"] else "no atrial fibrillation")
    burden = report["pvc_burden"]
    pvcs = "PVC burden -" if burden is None else f"PVC burden {burden:.1%}"
    return (f"{report['record']}: {rhythm}; {len(report['r_peaks'])} beats in "
            f"{report['duration_s']:.0f} s, {pvcs}, {len(report['episodes'])} AF episode(s)")
