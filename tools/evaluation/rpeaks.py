"""Evaluate the streaming R-peak detector against the MIT-BIH beat annotations.

Runs `edge.signals.rpeaks` on every record of DATA_DIR/mitdb at its native 360 Hz and resampled
to 130 Hz (Polar H10) and 250 Hz, matches detections one-to-one with the annotated beats within
150 ms, and prints sensitivity and positive predictivity per record and overall, with the CPU
time the detector took (samples are pushed in one-second chunks, as from a live stream).

    python tools/evaluation/rpeaks.py [DATA_DIR] [--json]

Data: MIT-BIH Arrhythmia Database (Moody GB, Mark RG, IEEE Eng in Med and Biol 20(3):45-50,
2001; Goldberger AL et al., Circulation 101(23):e215-e220, 2000), ODC-By 1.0.
"""

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.records.wfdb import RecordError, read_annotations, read_record
from edge.signals.rpeaks import detect_r_peaks

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"
RATES_HZ = (360, 130, 250)
TOLERANCE_S = 0.15
CHUNK_S = 1.0


@dataclass(frozen=True)
class Score:
    tp: int
    fn: int
    fp: int

    def __add__(self, other: "Score") -> "Score":
        return Score(self.tp + other.tp, self.fn + other.fn, self.fp + other.fp)

    @property
    def sensitivity(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else math.nan

    @property
    def positive_predictivity(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else math.nan

    def as_dict(self) -> dict[str, float]:
        return {
            **asdict(self),
            "sensitivity": self.sensitivity,
            "positive_predictivity": self.positive_predictivity,
        }


def pair_beats(
    detected: npt.NDArray[np.int64], reference: npt.NDArray[np.int64], tolerance: int
) -> npt.NDArray[np.int64]:
    """For each detection, the index of its reference beat, or -1: one-to-one, closest pairs
    first, each detection weighed against the reference beats on either side of it."""
    if detected.size == 0 or reference.size == 0:
        return np.full(detected.size, -1, dtype=np.int64)
    last = reference.size - 1
    right = np.searchsorted(reference, detected)
    candidates = [(d, r) for d in range(detected.size)
                  for r in {min(max(right[d] - 1, 0), last), min(right[d], last)}]
    distances = [abs(int(detected[d]) - int(reference[r])) for d, r in candidates]
    match = np.full(detected.size, -1, dtype=np.int64)
    taken: set[int] = set()
    for index in np.argsort(distances, kind="stable"):
        d, r = candidates[index]
        if distances[index] <= tolerance and match[d] < 0 and r not in taken:
            match[d] = r
            taken.add(int(r))
    return match


def match_beats(
    reference: npt.NDArray[np.int64], detected: npt.NDArray[np.int64], tolerance: int
) -> Score:
    """True, missed and extra beats of a detection against the reference beats."""
    tp = int(np.count_nonzero(pair_beats(detected, reference, tolerance) >= 0))
    return Score(tp=tp, fn=len(reference) - tp, fp=len(detected) - tp)


def resample(signal: npt.NDArray[np.float64], ratio: Fraction) -> npt.NDArray[np.float64]:
    """Band-limited (FFT) resampling by a rational ratio; the record is first cut to a whole
    number of ratio denominators so that the new length is exact."""
    length = len(signal) - len(signal) % ratio.denominator
    new_length = length * ratio.numerator // ratio.denominator
    spectrum = np.fft.rfft(signal[:length])
    kept = np.zeros(new_length // 2 + 1, dtype=complex)
    bins = min(len(kept), len(spectrum))
    kept[:bins] = spectrum[:bins]
    return np.fft.irfft(kept, n=new_length) * (new_length / length)


def record_names(data_dir: Path) -> list[str]:
    names = sorted(path.stem for path in (data_dir / "mitdb").glob("*.hea"))
    if not names:
        raise FileNotFoundError(f"{data_dir / 'mitdb'}: no .hea records")
    return names


def evaluate_rate(data_dir: Path, rate: int) -> dict[str, Any]:
    scores: dict[str, Score] = {}
    cpu_seconds = 0.0
    ecg_seconds = 0.0
    for name in record_names(data_dir):
        record = read_record(data_dir / "mitdb" / f"{name}.hea")
        beats = read_annotations(data_dir / "mitdb" / f"{name}.atr").samples
        ratio = Fraction(rate) / Fraction(record.fs).limit_denominator()
        signal = resample(record.signal_mv, ratio) if ratio != 1 else record.signal_mv
        reference = np.round(beats * float(ratio)).astype(np.int64)
        reference = reference[reference < len(signal)]
        started = time.process_time()
        detected = detect_r_peaks(signal, rate, chunk=round(CHUNK_S * rate))
        cpu_seconds += time.process_time() - started
        ecg_seconds += len(signal) / rate
        scores[name] = match_beats(reference, detected, round(TOLERANCE_S * rate))
    overall = sum(scores.values(), Score(0, 0, 0))
    return {
        "records": {name: score.as_dict() for name, score in scores.items()},
        "overall": overall.as_dict(),
        "cpu_seconds": cpu_seconds,
        "hours_per_cpu_second": ecg_seconds / 3600 / cpu_seconds,
    }


def evaluate_rpeaks(data_dir: Path) -> dict[str, Any]:
    """Scores per record and overall at each rate in `RATES_HZ`."""
    return {
        "tolerance_s": TOLERANCE_S,
        "rates_hz": {str(rate): evaluate_rate(data_dir, rate) for rate in RATES_HZ},
    }


def format_report(results: dict[str, Any]) -> str:
    lines = [f"R peaks vs MIT-BIH annotations, tolerance {results['tolerance_s'] * 1000:.0f} ms"]
    for rate, result in results["rates_hz"].items():
        lines.append(
            f"\n{rate} Hz  ({result['hours_per_cpu_second']:.1f} h of ECG per CPU second)\n"
            f"{'record':>8} {'TP':>6} {'FN':>5} {'FP':>5} {'Se %':>7} {'+P %':>7}"
        )
        rows = [*result["records"].items(), ("overall", result["overall"])]
        lines += [
            f"{name:>8} {score['tp']:>6} {score['fn']:>5} {score['fp']:>5} "
            f"{100 * score['sensitivity']:>7.2f} {100 * score['positive_predictivity']:>7.2f}"
            for name, score in rows
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    try:
        results = evaluate_rpeaks(args.data_dir)
    except (FileNotFoundError, RecordError) as error:
        parser.error(str(error))
    print(json.dumps(results, indent=2) if args.json else format_report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
