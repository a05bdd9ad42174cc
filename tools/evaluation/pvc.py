"""Ventricular-beat (PVC) sensitivity and positive predictivity on mitdb, leave-one-record-out.

Beats are the ones the gateway's own R-peak detector finds (edge.signals.rpeaks on
edge.records.wfdb); each is matched one-to-one to the nearest reference annotation within
MATCH_TOLERANCE_S. A detected beat matched to a `V` annotation is a PVC; any other detected beat
(matched to another beat type, or to nothing) is not. Se = TP / (TP + FN) over detected PVCs,
+P = TP / (TP + FP) over beats called PVC. PVCs the detector misses are counted separately
(`missed_by_detector`) and folded into `se_all_annotated`.

"Gated" figures follow the gateway: beats in 5 s windows that edge.detect.quality finds unusable
get no label at all, so a PVC there counts as missed and a false call there is avoided.

Each record is classified by the fold model that never saw it (models/pvc_beat/loo/<record>/,
written by tools/train_pvc.py), in each of its four variants (ONNX and TFLite, float and INT8),
and by the rule fallback of edge.detect.ectopy.

Usage: .venv-train/bin/python -m tools.evaluation.pvc [DATA_DIR] [--models DIR] [--rate HZ]
"""

import argparse
import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edge.detect.ectopy import classify_beats
from edge.detect.quality import assess, usable_at
from edge.inference.manifest import load_manifest
from edge.inference.model import load_model
from edge.records.wfdb import read_annotations, read_record
from edge.signals.beats import beat_features
from edge.signals.rpeaks import detect_r_peaks
from tools.evaluation.rpeaks import pair_beats, resample

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
DEFAULT_MODELS_DIR = REPO_ROOT / "models"
RECORDS = ("100", "102", "104", "106", "108", "114", "116", "123", "200")
MATCH_TOLERANCE_S = 0.15
VARIANTS = (("onnx", "float"), ("onnx", "int8"), ("litert", "float"), ("litert", "int8"))
RULE = "rule"


@dataclass(frozen=True)
class RecordBeats:
    name: str
    fs: float
    r_peaks: NDArray[np.int64]
    features: NDArray[np.float64]
    # Per detected beat: matched to a V annotation.
    is_pvc: NDArray[np.bool_]
    # Per detected beat: matched to any annotation.
    matched: NDArray[np.bool_]
    # Per detected beat: inside a window edge.detect.quality finds usable.
    usable: NDArray[np.bool_]
    annotated_pvcs: int


@dataclass(frozen=True)
class Counts:
    tp: int
    fp: int
    fn: int
    missed_by_detector: int

    @property
    def se(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def ppv(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def f1(self) -> float | None:
        total = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / total if total else None

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(
            self.tp + other.tp,
            self.fp + other.fp,
            self.fn + other.fn,
            self.missed_by_detector + other.missed_by_detector,
        )

    def summary(self) -> dict[str, Any]:
        annotated = self.tp + self.fn + self.missed_by_detector
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "missed_by_detector": self.missed_by_detector,
            "se": _rounded(self.se),
            "ppv": _rounded(self.ppv),
            "f1": _rounded(self.f1),
            "se_all_annotated": _rounded(self.tp / annotated if annotated else None),
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def load_record_beats(data_dir: Path, name: str, rate_hz: int | None = None) -> RecordBeats:
    """A record's detected beats, at its own rate or resampled to `rate_hz` (band-limited,
    annotations moved with it) to stand in for a device that samples slower."""
    record = read_record(data_dir / "mitdb" / f"{name}.hea")
    annotations = read_annotations(data_dir / "mitdb" / f"{name}.atr")
    ratio = Fraction(rate_hz or round(record.fs), round(record.fs))
    signal, fs = resample(record.signal_mv, ratio), record.fs * float(ratio)
    reference = np.round(annotations.samples * float(ratio)).astype(np.int64)
    peaks = detect_r_peaks(signal, fs)
    match = pair_beats(peaks, reference, round(MATCH_TOLERANCE_S * fs))
    symbols = np.array(annotations.symbols)
    matched = match >= 0
    is_pvc = matched & (symbols[np.maximum(match, 0)] == "V")
    return RecordBeats(
        name=name,
        fs=fs,
        r_peaks=peaks,
        features=beat_features(signal, fs, peaks),
        is_pvc=is_pvc,
        matched=matched,
        usable=usable_at(assess(signal, fs, peaks), peaks / fs),
        annotated_pvcs=int(np.sum(symbols == "V")),
    )


def load_all(data_dir: Path) -> dict[str, RecordBeats]:
    return {name: load_record_beats(data_dir, name) for name in RECORDS}


def count(beats: RecordBeats, called_pvc: NDArray[np.bool_]) -> Counts:
    tp = int(np.sum(called_pvc & beats.is_pvc))
    return Counts(
        tp=tp,
        fp=int(np.sum(called_pvc & ~beats.is_pvc)),
        fn=int(np.sum(~called_pvc & beats.is_pvc)),
        missed_by_detector=beats.annotated_pvcs - int(np.sum(beats.is_pvc)),
    )


def fold_manifest(models_dir: Path, held_out: str) -> Path:
    return models_dir / "pvc_beat" / "loo" / held_out / "manifest.json"


def _calls(beats: RecordBeats, models_dir: Path) -> dict[str, NDArray[np.bool_]]:
    calls = {RULE: classify_beats(beats.features, None)}
    for backend, precision in VARIANTS:
        model = load_model(fold_manifest(models_dir, beats.name), backend, precision)
        threshold = model.manifest.thresholds["pvc"]
        calls[f"{backend}_{precision}"] = classify_beats(beats.features, model.predict, threshold)
    gated = {f"{classifier}_gated": called & beats.usable for classifier, called in calls.items()}
    return calls | gated


def evaluate_pvc(
    data_dir: Path, models_dir: Path, rate_hz: int | None = None
) -> dict[str, Any]:
    """Per record and pooled counts for every classifier, with detector and split details;
    at the records' own 360 Hz, or resampled to `rate_hz`."""
    per_record: dict[str, dict[str, Any]] = {}
    totals: dict[str, Counts] = {}
    for name in RECORDS:
        beats = load_record_beats(data_dir, name, rate_hz)
        per_record[name] = {
            "threshold": load_manifest(fold_manifest(models_dir, name)).thresholds["pvc"],
            "detected_beats": int(beats.r_peaks.size),
            "unusable_beats": int(np.sum(~beats.usable)),
        }
        for classifier, called in _calls(beats, models_dir).items():
            counts = count(beats, called)
            per_record[name][classifier] = counts.summary()
            totals[classifier] = totals.get(classifier, Counts(0, 0, 0, 0)) + counts
    overall = {classifier: counts.summary() for classifier, counts in totals.items()}
    return {
        "split": "leave-one-record-out over mitdb records " + ", ".join(RECORDS),
        "beats": f"found by edge.signals.rpeaks at {rate_hz or 360} Hz, matched to annotations "
        f"within {int(MATCH_TOLERANCE_S * 1000)} ms",
        "overall": overall,
        "int8_f1_loss": _int8_f1_loss(overall),
        "per_record": per_record,
    }


def _int8_f1_loss(overall: dict[str, dict[str, Any]]) -> dict[str, float]:
    return {
        backend: round(overall[f"{backend}_float"]["f1"] - overall[f"{backend}_int8"]["f1"], 4)
        for backend in ("onnx", "litert")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--rate", type=int, help="resample the records to this rate (Hz) first")
    arguments = parser.parse_args()
    figures = evaluate_pvc(arguments.data_dir, arguments.models, arguments.rate)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
