"""ECG morphology features of a window of beats, for AF detection where an ECG is available.

In sinus rhythm every beat has the same P wave before its QRS; in AF there is none, only
fibrillatory waves that differ from beat to beat. Noise, the main cause of false AF from RR
intervals, also changes the QRS complexes themselves. So, against the median of the window's
own beats: how much the QRS complexes differ, how alike the stretches where P waves belong are,
and how large the beat-to-beat residual of those stretches is against the P template itself.
Ectopic beats (edge.signals.rr_features.ectopic_runs) are left out: a PVC has no P wave and a
QRS of its own, and would make sinus rhythm with ectopy look like AF or noise.
"""

from typing import Final

import numpy as np
from numpy.typing import NDArray

from edge.signals.rr_features import ectopic_runs

FloatArray = NDArray[np.float64]

MORPHOLOGY_FEATURE_NAMES: Final = ("log_qrs_mismatch", "p_correlation", "log_p_residual_ratio")

_BASELINE_S: Final = 0.2
# The ECG beyond a window's first and last beat that its beats' segments and baseline need.
_MARGIN_S: Final = 0.5
_QRS_S: Final = (-0.06, 0.06)
# Where the P wave of a beat lies relative to its R peak.
_P_WAVE_S: Final = (-0.28, -0.08)
_MIN_BEATS: Final = 3
# The residual ratio is kept within 0.001 to 10 (log10 -3 to 1), for INT8 models.
_LOG_RESIDUAL_RANGE: Final = (-3.0, 1.0)
# log10(1 - QRS correlation), within -3 (alike to 0.999) and 0 (unrelated): clean beats differ
# in the third decimal, noisy ones in the first, and a plain correlation would squeeze the clean
# ones into a corner of an INT8 input range.
_LOG_MISMATCH_RANGE: Final = (-3.0, 0.0)
# A window without enough whole beats reads as the least sinus-like morphology.
_NO_BEATS: Final = (_LOG_MISMATCH_RANGE[1], 0.0, _LOG_RESIDUAL_RANGE[1])


def _without_baseline(signal_mv: FloatArray, fs: float) -> FloatArray:
    width = int(_BASELINE_S * fs) | 1
    baseline = np.convolve(signal_mv, np.full(width, 1 / width), mode="same")
    result: FloatArray = signal_mv - baseline
    return result


def _segments(signal: FloatArray, r_peaks: NDArray[np.integer], fs: float,
              span_s: tuple[float, float]) -> FloatArray:
    """One row per beat whose whole span lies inside the signal, each with its mean removed."""
    start, stop = round(span_s[0] * fs), round(span_s[1] * fs)
    inside = r_peaks[(r_peaks + start >= 0) & (r_peaks + stop <= len(signal))]
    rows = signal[inside[:, None] + np.arange(start, stop)]
    centred: FloatArray = rows - rows.mean(axis=1, keepdims=True)
    return centred


def _median_correlation(rows: FloatArray, template: FloatArray) -> float:
    norms = np.linalg.norm(rows, axis=1) * np.linalg.norm(template)
    correlations = rows @ template / np.maximum(norms, 1e-12)
    return float(np.median(correlations))


def without_ectopic_beats(r_peaks: NDArray[np.integer], fs: float) -> NDArray[np.integer]:
    """The R peaks less those that end a premature interval of an ectopic run."""
    if len(r_peaks) < 3:
        return r_peaks
    ectopic = np.zeros(len(r_peaks), dtype=bool)
    for start, length in ectopic_runs(np.diff(r_peaks) / fs):
        # Interval i ends at peak i + 1; the run's last interval is the pause before a sinus beat.
        ectopic[start + 1:start + length] = True
    result: NDArray[np.integer] = r_peaks[~ectopic]
    return result


def ecg_window_features(signal_mv: FloatArray, fs: float,
                        r_peaks: NDArray[np.integer]) -> FloatArray:
    """MORPHOLOGY_FEATURE_NAMES for the beats at `r_peaks` (sample indices into `signal_mv`)."""
    signal = _without_baseline(signal_mv, fs)
    r_peaks = without_ectopic_beats(r_peaks, fs)
    qrs = _segments(signal, r_peaks, fs, _QRS_S)
    p_waves = _segments(signal, r_peaks, fs, _P_WAVE_S)
    if min(len(qrs), len(p_waves)) < _MIN_BEATS:
        return np.array(_NO_BEATS)
    p_template = np.median(p_waves, axis=0)
    residual = float(np.median(np.std(p_waves - p_template, axis=1)))
    ratio = residual / max(float(np.std(p_template)), 1e-9)
    mismatch = 1 - _median_correlation(qrs, np.median(qrs, axis=0))
    return np.array([
        _clipped_log10(mismatch, _LOG_MISMATCH_RANGE),
        _median_correlation(p_waves, p_template),
        _clipped_log10(ratio, _LOG_RESIDUAL_RANGE),
    ])


def _clipped_log10(value: float, limits: tuple[float, float]) -> float:
    return float(np.clip(np.log10(max(value, 1e-9)), *limits))


def morphology_between(signal_mv: FloatArray, fs: float, r_peaks: NDArray[np.integer],
                       first_sample: int, last_sample: int) -> FloatArray:
    """ecg_window_features of the beats from `first_sample` to `last_sample` (within a sample),
    from the stretch of a longer recording around them."""
    within = r_peaks[(r_peaks >= first_sample - 1) & (r_peaks <= last_sample + 1)]
    margin = round(_MARGIN_S * fs)
    offset = max(first_sample - margin, 0)
    return ecg_window_features(signal_mv[offset:last_sample + margin], fs, within - offset)
