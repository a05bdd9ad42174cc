"""ECG morphology features of a window of beats, for AF detection where an ECG is available.

In sinus rhythm every beat has the same P wave before its QRS; in AF there is none, only
fibrillatory waves that differ from beat to beat. Noise, the main cause of false AF from RR
intervals, also changes the QRS complexes themselves. So, against the median of the window's
own beats: how much the QRS complexes differ, how alike the stretches where P waves belong are,
and how large the beat-to-beat residual of those stretches is against the P template itself.
Ectopic beats (edge.signals.rr_features.ectopic_runs) are left out: a PVC has no P wave and a
QRS of its own, and would make sinus rhythm with ectopy look like AF or noise.

The features must not depend on the sampling rate (AliveCor records at 300 Hz, a Polar H10 at
130 Hz): the ECG is smoothed to the same bandwidth at any rate and resampled to a fixed 2 ms
grid, and each beat is aligned to the window's median QRS within a few grid steps, so that
where the R-peak detector put a beat within its own sample does not read as a QRS mismatch.
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
_GRID_S: Final = 0.002
_GRID_FS: Final = 1 / _GRID_S
# The ECG is smoothed so that, with the linear interpolation onto the grid, it is blurred as by
# a Gaussian of this width (standard deviation) at any sampling rate from 70 Hz up.
_BLUR_S: Final = 0.006
# How far (10 ms) a beat may be moved to match the median QRS: at 130 Hz an R peak can only
# be placed to within half a sample (3.8 ms), and the detector's placement varies on top.
_MAX_SHIFT_STEPS: Final = 5
_MIN_BEATS: Final = 3
# The residual ratio is kept within 0.001 to 10 (log10 -3 to 1), for INT8 models.
_LOG_RESIDUAL_RANGE: Final = (-3.0, 1.0)
# log10(1 - QRS correlation), within -3 (alike to 0.999) and 0 (unrelated): clean beats differ
# in the third decimal, noisy ones in the first, and a plain correlation would squeeze the clean
# ones into a corner of an INT8 input range.
_LOG_MISMATCH_RANGE: Final = (-3.0, 0.0)
# A window without enough whole beats reads as the least sinus-like morphology.
_NO_BEATS: Final = (_LOG_MISMATCH_RANGE[1], 0.0, _LOG_RESIDUAL_RANGE[1])


def _on_grid(signal_mv: FloatArray, fs: float) -> FloatArray:
    """The ECG on the 2 ms grid, blurred to the same bandwidth whatever `fs`."""
    # Linear interpolation blurs as a triangle of one sample each side: variance 1 / (6 fs^2).
    sigma = np.sqrt(max(_BLUR_S ** 2 - 1 / (6 * fs ** 2), 0.0)) * fs
    taps = np.arange(-np.ceil(3 * sigma), np.ceil(3 * sigma) + 1)
    kernel = np.exp(-0.5 * (taps / max(sigma, 1e-3)) ** 2)
    smoothed = np.convolve(signal_mv, kernel / kernel.sum(), mode="same")
    grid = np.arange(0, (len(signal_mv) - 1) / fs, _GRID_S)
    on_grid: FloatArray = np.interp(grid * fs, np.arange(len(signal_mv)), smoothed)
    return on_grid


def _without_baseline(signal: FloatArray) -> FloatArray:
    width = int(_BASELINE_S * _GRID_FS) | 1
    baseline = np.convolve(signal, np.full(width, 1 / width), mode="same")
    result: FloatArray = signal - baseline
    return result


def _steps(span_s: tuple[float, float]) -> tuple[int, int]:
    return round(span_s[0] * _GRID_FS), round(span_s[1] * _GRID_FS)


def _segments(signal: FloatArray, r_peaks: NDArray[np.integer],
              span_s: tuple[float, float]) -> FloatArray:
    """One row per beat at `r_peaks` (grid indices; the span must lie inside the signal), each
    with its mean removed."""
    start, stop = _steps(span_s)
    rows = signal[r_peaks[:, None] + np.arange(start, stop)]
    centred: FloatArray = rows - rows.mean(axis=1, keepdims=True)
    return centred


def _correlations(rows: FloatArray, template: FloatArray) -> FloatArray:
    norms = np.linalg.norm(rows, axis=1) * np.linalg.norm(template)
    correlations: FloatArray = rows @ template / np.maximum(norms, 1e-12)
    return correlations


def _aligned(signal: FloatArray, r_peaks: NDArray[np.intp]) -> NDArray[np.intp]:
    """Each beat moved by up to _MAX_SHIFT_STEPS to where its QRS best matches the median."""
    template = np.median(_segments(signal, r_peaks, _QRS_S), axis=0)
    shifts = np.arange(-_MAX_SHIFT_STEPS, _MAX_SHIFT_STEPS + 1)
    fits = np.array([_correlations(_segments(signal, r_peaks + shift, _QRS_S), template)
                     for shift in shifts])
    result: NDArray[np.intp] = r_peaks + shifts[np.argmax(fits, axis=0)]
    return result


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
    signal = _without_baseline(_on_grid(signal_mv, fs))
    peaks = np.round(without_ectopic_beats(r_peaks, fs) * (_GRID_FS / fs)).astype(np.intp)
    # Beats whose P wave and QRS lie inside the signal however far they are aligned.
    first = -_steps(_P_WAVE_S)[0] + _MAX_SHIFT_STEPS
    peaks = peaks[(peaks >= first) & (peaks + _steps(_QRS_S)[1] + _MAX_SHIFT_STEPS <= len(signal))]
    if len(peaks) < _MIN_BEATS:
        return np.array(_NO_BEATS)
    peaks = _aligned(signal, peaks)
    qrs = _segments(signal, peaks, _QRS_S)
    p_waves = _segments(signal, peaks, _P_WAVE_S)
    p_template = np.median(p_waves, axis=0)
    residual = float(np.median(np.std(p_waves - p_template, axis=1)))
    ratio = residual / max(float(np.std(p_template)), 1e-9)
    mismatch = 1 - float(np.median(_correlations(qrs, np.median(qrs, axis=0))))
    return np.array([
        _clipped_log10(mismatch, _LOG_MISMATCH_RANGE),
        float(np.median(_correlations(p_waves, p_template))),
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
