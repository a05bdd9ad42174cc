"""Signal quality on cinc2017: how many recordings of each class edge.detect.quality calls
unusable, and how many AF calls land on recordings labelled too noisy (~), with and without the
quality gate.

R peaks come from edge.signals.rpeaks. A recording is unusable when at least
QualitySettings.max_unusable_share of its 5 s windows are. The thresholds of QualitySettings were
set by looking at the odd-numbered recordings only (in name order: the "tuning" half); the even
half was not looked at until they were fixed, so figures are given for each half and for all.

AF calls come from edge.detect.af.AfDetector fed with the detector's RR intervals: with its
hand-set RuleClassifier (fitted on nothing), and with the shipped models/af_rr model when it
exists (trained on these very recordings, so its calls are in-sample). A recording has an AF call
when any of its windows is called AF; with the gate, an AF window counts only when most of its
beats fall in usable quality windows.

Usage: .venv-train/bin/python -m tools.evaluation.quality [DATA_DIR] [--models DIR]
"""

import argparse
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.detect.af import AfDetector, AfWindow, WindowClassifier
from edge.detect.quality import WindowQuality, assess, is_usable, usable_at
from edge.inference.model import load_model
from tools.train_af import Recording, read_cinc

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
DEFAULT_MODELS_DIR = REPO_ROOT / "models"
CLASSES = ("N", "A", "O", "~")
NOISY = "~"


@dataclass(frozen=True)
class Assessed:
    recording: Recording
    windows: list[WindowQuality]
    tuning_half: bool

    @property
    def usable(self) -> bool:
        return is_usable(self.windows)


def assess_all(data_dir: Path) -> list[Assessed]:
    recordings = sorted(read_cinc(data_dir), key=lambda r: r.name)
    return [
        Assessed(r, assess(r.signal_mv, r.fs, r.r_peaks), tuning_half=index % 2 == 1)
        for index, r in enumerate(recordings)
    ]


def _share(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def class_figures(assessed: list[Assessed]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for label in CLASSES:
        members = [a for a in assessed if a.recording.label == label]
        windows = [w for a in members for w in a.windows]
        figures[label] = {
            "records": len(members),
            "records_unusable": _share([not a.usable for a in members]),
            "windows": len(windows),
            "windows_unusable": _share([not w.usable for w in windows]),
            "reasons": dict(Counter(reason for w in windows for reason in w.reasons)),
        }
    return figures


def af_windows(recording: Recording, classifier: WindowClassifier | None) -> list[AfWindow]:
    detector = AfDetector(classifier)
    beat_times = recording.r_peaks / recording.fs
    windows: list[AfWindow] = []
    for at, rr in zip(beat_times[1:], np.diff(beat_times), strict=True):
        detector.push(float(at), float(rr))
        latest = detector.last_window
        if latest is not None and (not windows or latest is not windows[-1]):
            windows.append(latest)
    return windows


def _window_usable(window: AfWindow, assessed: Assessed) -> bool:
    beat_times = assessed.recording.r_peaks / assessed.recording.fs
    inside = beat_times[(beat_times >= window.start_s) & (beat_times <= window.end_s)]
    return bool(np.mean(usable_at(assessed.windows, inside)) >= 0.5) if inside.size else False


def af_call_figures(
    assessed: list[Assessed], classifier: WindowClassifier | None
) -> dict[str, Any]:
    called: dict[str, list[str]] = {"ungated": [], "gated": []}
    for a in assessed:
        af = [w for w in af_windows(a.recording, classifier) if w.is_af]
        if af:
            called["ungated"].append(a.recording.label)
        if any(_window_usable(w, a) for w in af):
            called["gated"].append(a.recording.label)
    return {
        gate: {
            "records_called_af": len(labels),
            "by_class": dict(Counter(labels)),
            "share_on_noisy_records": _share([label == NOISY for label in labels]),
            "af_records_called": sum(label == "A" for label in labels),
        }
        for gate, labels in called.items()
    }


def evaluate_quality(data_dir: Path, models_dir: Path = DEFAULT_MODELS_DIR) -> dict[str, Any]:
    assessed = assess_all(data_dir)
    halves = {
        "tuning_half": [a for a in assessed if a.tuning_half],
        "held_out_half": [a for a in assessed if not a.tuning_half],
        "all": assessed,
    }
    figures: dict[str, Any] = {
        "split": "cinc2017 in name order: odd positions tuned the thresholds, even ones held out",
        "noisy_recall": {
            name: class_figures(part)[NOISY]["records_unusable"] for name, part in halves.items()
        },
        "classes": {name: class_figures(part) for name, part in halves.items()},
        "af_calls": {"rule": af_call_figures(assessed, None)},
    }
    manifest = models_dir / "af_rr" / "manifest.json"
    if manifest.exists():
        figures["af_calls"]["af_rr_model_in_sample"] = af_call_figures(
            assessed, load_model(manifest, None, "int8")
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS_DIR)
    arguments = parser.parse_args()
    print(json.dumps(evaluate_quality(arguments.data_dir, arguments.models), indent=2))


if __name__ == "__main__":
    main()
