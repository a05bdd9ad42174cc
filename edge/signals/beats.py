"""Per-beat features from a single-lead ECG and its R peaks, for telling ventricular beats apart.

Every beat is cut out of a baseline-corrected signal and resampled to a fixed 4 ms grid, so the
features are the same whether the ECG comes at 130, 250 or 360 Hz. Morphology is measured against
a running template of the patient's own normal beats (the median of recent beats that were not
premature): a PVC is wide, differently shaped and early *compared with this person's usual beat*,
which is what lets a model trained on other people work on a new one. Non-premature beats whose
QRS does not match the others' median are left out of the template, so that ectopic beats that come
on time do not blur it. Each beat's family (the recent beats of the same QRS shape) adds how common
that shape is and how early it usually comes; the stretch before the QRS, compared with the
template's, tells whether the beat has the patient's usual P wave, which a PVC lacks.

Causal with a short look-ahead: the features of beat i depend on the signal up to
R[i+1] + LOOKAHEAD_MS and on the R peaks up to i+1 (for the compensatory pause), never later.
On a live stream, run it over a buffer that keeps at least FAMILY_BEATS beats of history before
the beats whose features are wanted; the first beats of a recording, with no history, read as
like their template.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.int64]

GRID_MS = 4.0
WINDOW_START_MS = -240.0
WINDOW_END_MS = 440.0
QRS_START_MS = -120.0
QRS_END_MS = 160.0
# Detectors may place the fiducial point of a PVC away from its largest deflection.
MAX_SHIFT_MS = 40.0
# Where a conducted beat has its P wave, before the QRS.
P_WAVE_START_MS = WINDOW_START_MS
P_WAVE_END_MS = -100.0
BASELINE_WINDOW_MS = 1000.0
SMOOTHING_WINDOW_MS = 12.0
# The signal beyond the next R peak that the features of a beat may depend on.
LOOKAHEAD_MS = max(WINDOW_END_MS, BASELINE_WINDOW_MS / 2) + SMOOTHING_WINDOW_MS
HISTORY_BEATS = 16
PREMATURE_RATIO = 0.9
# A beat's morphological family: the recent beats whose QRS correlates this well with its own.
FAMILY_BEATS = 64
FAMILY_CORRELATION = 0.9

# Ratios enter as natural logarithms, clipped to +-LOG_LIMIT: symmetric around "like the
# template", and in a range that survives a model's 8-bit input.
LOG_LIMIT = 4.0
FEATURE_NAMES: tuple[str, ...] = (
    "log_rr_prev_ratio",
    "log_rr_next_ratio",
    "log_rr_next_over_prev",
    "qrs_width_ms",
    "log_qrs_width_ratio",
    "qrs_correlation",
    "beat_correlation",
    "log_residual_energy_ratio",
    "log_amplitude_ratio",
    "log_area_ratio",
    "log_slope_ratio",
    "polarity_agreement",
    "p_wave_correlation",
    "family_share",
    "family_log_rr_prev_ratio",
    "family_log_rr_next_ratio",
)

_GRID = np.arange(WINDOW_START_MS, WINDOW_END_MS + GRID_MS / 2, GRID_MS)
_QRS = (_GRID >= QRS_START_MS) & (_GRID <= QRS_END_MS)
_P_WAVE = (_GRID >= P_WAVE_START_MS) & (_GRID <= P_WAVE_END_MS)
# Shifted copies wrap around at the window's ends; the whole-beat comparison leaves those out.
_WHOLE = (_GRID >= WINDOW_START_MS + MAX_SHIFT_MS) & (_GRID <= WINDOW_END_MS - MAX_SHIFT_MS)
_SHIFTS = range(-int(MAX_SHIFT_MS / GRID_MS), int(MAX_SHIFT_MS / GRID_MS) + 1)
# Row k indexes the grid as np.roll(beat, _SHIFTS[k]) would.
_ROLLED = (np.arange(_GRID.size)[None, :] - np.array(_SHIFTS)[:, None]) % _GRID.size


@dataclass(frozen=True, slots=True)
class _Shape:
    """What is measured on one beat waveform (on the 4 ms grid)."""

    qrs_width_ms: float
    peak_to_peak: float
    area: float
    max_slope: float
    # Signed size of the largest deflection, so a flipped beat has the opposite sign.
    dominant: float


def moving_mean(signal: FloatArray, width: int) -> FloatArray:
    """Centred moving average with the edges averaged over the part of the window that exists."""
    if width <= 1:
        return signal.astype(np.float64, copy=True)
    cumulative = np.concatenate(([0.0], np.cumsum(signal, dtype=np.float64)))
    half = width // 2
    index = np.arange(signal.size)
    low = np.clip(index - half, 0, signal.size)
    high = np.clip(index - half + width, 0, signal.size)
    means: FloatArray = (cumulative[high] - cumulative[low]) / (high - low)
    return means


def condition(signal_mv: FloatArray, fs: float) -> FloatArray:
    """Baseline wander removed (1 s moving mean) and the fastest noise smoothed (12 ms)."""
    signal = np.asarray(signal_mv, dtype=np.float64)
    baseline = moving_mean(signal, round(fs * BASELINE_WINDOW_MS / 1000))
    return moving_mean(signal - baseline, round(fs * SMOOTHING_WINDOW_MS / 1000))


def beat_waveforms(conditioned: FloatArray, fs: float, r_peaks: IndexArray) -> FloatArray:
    """Each beat on the 4 ms grid around its R peak, its median removed; (n_beats, grid)."""
    positions = np.asarray(r_peaks, dtype=np.float64)[:, None] + _GRID[None, :] * fs / 1000
    positions = np.clip(positions, 0, conditioned.size - 1)
    flat = np.interp(positions.ravel(), np.arange(conditioned.size), conditioned)
    waveforms = flat.reshape(positions.shape)
    centred: FloatArray = waveforms - np.median(waveforms, axis=1, keepdims=True)
    return centred


def unit_qrs(waveforms: FloatArray) -> FloatArray:
    """The QRS part of each beat, centred and scaled to unit norm: dot products are correlations."""
    qrs = waveforms[:, _QRS] - waveforms[:, _QRS].mean(axis=1, keepdims=True)
    unit: FloatArray = qrs / np.maximum(np.linalg.norm(qrs, axis=1, keepdims=True), 1e-12)
    return unit


def _shape(waveform: FloatArray) -> _Shape:
    qrs = waveform[_QRS]
    slope = np.abs(np.diff(qrs)) / GRID_MS
    energy = np.cumsum(slope**2)
    total = energy[-1] if energy[-1] > 0 else 1.0
    onset, offset = np.searchsorted(energy, [0.1 * total, 0.9 * total])
    largest = int(np.argmax(np.abs(qrs)))
    return _Shape(
        qrs_width_ms=float(offset - onset) * GRID_MS,
        peak_to_peak=float(np.ptp(qrs)),
        area=float(np.sum(np.abs(qrs)) * GRID_MS),
        max_slope=float(slope.max()),
        dominant=float(qrs[largest]),
    )


def _correlation(first: FloatArray, second: FloatArray) -> float:
    """Pearson correlation; a flat stretch correlates with nothing."""
    first, second = first - first.mean(), second - second.mean()
    norms = float(np.linalg.norm(first) * np.linalg.norm(second))
    return float(first @ second) / max(norms, 1e-12)


def _best_correlation(beat: FloatArray, template: FloatArray, mask: npt.NDArray[np.bool_]) -> float:
    """Largest Pearson correlation over shifts of up to MAX_SHIFT_MS of the beat."""
    shifted = beat[_ROLLED][:, mask]
    shifted = shifted - shifted.mean(axis=1, keepdims=True)
    reference = template[mask] - template[mask].mean()
    norms = np.linalg.norm(shifted, axis=1) * np.linalg.norm(reference)
    # A flat beat or template correlates with nothing.
    return float(np.max(shifted @ reference / np.maximum(norms, 1e-12)))


def _log_ratio(value: float, reference: float) -> float:
    if value <= 0 or reference <= 0:
        return 0.0 if value == reference else float(np.sign(value - reference)) * LOG_LIMIT
    return float(np.clip(np.log(value / reference), -LOG_LIMIT, LOG_LIMIT))


def rr_context(r_peaks: IndexArray, fs: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """For each beat: the RR before it, the RR after it and the median of the 16 RRs before it (ms).

    Where a neighbour is missing (first and last beat) the local median stands in, so the ratios
    read as "not premature, no pause".
    """
    rr = np.diff(np.asarray(r_peaks, dtype=np.float64)) * 1000 / fs
    fallback = float(np.median(rr[:HISTORY_BEATS])) if rr.size else 1000.0
    local = np.array(
        [fallback] + [np.median(rr[max(0, i - HISTORY_BEATS) : i]) for i in range(1, rr.size + 1)]
    )
    before = np.concatenate(([local[0]], rr))
    after = np.concatenate((rr, [local[-1]]))
    return before, after, local


def template_indices(before_ms: FloatArray, local_ms: FloatArray, index: int) -> IndexArray:
    """The most recent (up to 16) earlier beats that were not premature: the template's members."""
    earlier = np.arange(index)
    regular = earlier[before_ms[:index] >= PREMATURE_RATIO * local_ms[:index]]
    return regular[-HISTORY_BEATS:].astype(np.int64)


def normal_template(waveforms: FloatArray, unit: FloatArray, members: IndexArray) -> FloatArray:
    """The median of the members whose QRS matches the median of them all (unit: unit_qrs of
    the waveforms): a PVC that came on time is no template member."""
    everyone = np.median(waveforms[members], axis=0)
    alike = members[unit[members] @ unit_qrs(everyone[None, :])[0] >= FAMILY_CORRELATION]
    median: FloatArray = np.median(waveforms[alike], axis=0) if alike.size else everyone
    return median


def beat_features(
    signal_mv: FloatArray, fs: float, r_peaks: IndexArray, first: int = 0
) -> FloatArray:
    """One row of FEATURE_NAMES per R peak from `first` on; `signal_mv` in millivolts, `r_peaks`
    sample indices. The beats before `first` serve only as the later beats' history."""
    peaks = np.asarray(r_peaks, dtype=np.int64)
    if peaks.size <= first:
        return np.zeros((0, len(FEATURE_NAMES)))
    waveforms = beat_waveforms(condition(signal_mv, fs), fs, peaks)
    unit = unit_qrs(waveforms)
    before, after, local = rr_context(peaks, fs)
    rows = []
    for i in range(first, peaks.size):
        members = template_indices(before, local, i)
        # Until there is a history the beat is its own template: it reads as normal.
        reference = normal_template(waveforms, unit, members) if members.size else waveforms[i]
        rows.append(_row(waveforms[i], reference, before[i], after[i], local[i]))
    prematurity = np.array([_log_ratio(b, m) for b, m in zip(before, local, strict=True)])
    pause = np.array([_log_ratio(a, m) for a, m in zip(after, local, strict=True)])
    family = family_features(waveforms, prematurity, pause, first)
    return np.hstack((np.array(rows), family))


def family_features(
    waveforms: FloatArray, log_prematurity: FloatArray, log_pause: FloatArray, first: int = 0
) -> FloatArray:
    """Per beat from `first` on: the share of the last FAMILY_BEATS beats that share its QRS
    shape, and that family's mean prematurity and pause.

    A PVC that happens to come on time still belongs to a family that usually comes early and is
    followed by a pause; and the patient's normal beats are the family that does not.
    """
    unit = unit_qrs(waveforms)
    rows = []
    for i in range(first, len(unit)):
        recent = np.arange(max(0, i - FAMILY_BEATS + 1), i + 1)
        family = recent[unit[recent] @ unit[i] >= FAMILY_CORRELATION]
        # The beat's own next RR is look-ahead; the family's earlier pauses are all known.
        rows.append(
            [family.size / recent.size, log_prematurity[family].mean(), log_pause[family].mean()]
        )
    return np.array(rows)


def _row(
    beat: FloatArray,
    template: FloatArray,
    before_ms: float,
    after_ms: float,
    local_ms: float,
) -> list[float]:
    shape, reference = _shape(beat), _shape(template)
    residual = float(np.sum((beat - template) ** 2))
    return [
        _log_ratio(before_ms, local_ms),
        _log_ratio(after_ms, local_ms),
        _log_ratio(after_ms, before_ms),
        shape.qrs_width_ms,
        _log_ratio(shape.qrs_width_ms, reference.qrs_width_ms),
        _best_correlation(beat, template, _QRS),
        _best_correlation(beat, template, _WHOLE),
        _log_ratio(residual, float(np.sum(template**2))),
        _log_ratio(shape.peak_to_peak, reference.peak_to_peak),
        _log_ratio(shape.area, reference.area),
        _log_ratio(shape.max_slope, reference.max_slope),
        float(np.sign(shape.dominant) * np.sign(reference.dominant)),
        _correlation(beat[_P_WAVE], template[_P_WAVE]),
    ]
