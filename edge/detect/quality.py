"""ECG signal quality per window: is the signal usable for detection, and if not, why.

Each window of a single-lead ECG (with the R peaks found in it) is checked for a flat line,
clipping, high-frequency noise (muscle, poor contact), baseline wander (movement), beats that
disagree with each other in shape, and heart rates no heart makes. An unusable window carries the
reasons; alerts that rest on it (AF, PVC burden, heart-rate limits) should be held back.

The default limits were set on half of the cinc2017 recordings (AliveCor, 300 Hz) and checked on
clean MIT-BIH Holter records (360 Hz) so that neither device's ordinary signal trips them;
tools/evaluation/quality.py measures them.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.signals.beats import (
    FloatArray,
    IndexArray,
    beat_waveforms,
    condition,
    moving_mean,
    unit_qrs,
)

BoolArray = npt.NDArray[np.bool_]

FLAT = "flat_line"
CLIPPED = "clipped"
HIGH_FREQUENCY_NOISE = "high_frequency_noise"
BASELINE_WANDER = "baseline_wander"
BEATS_DISAGREE = "beats_disagree"
IMPLAUSIBLE_RR = "implausible_rr"

# Muscle and contact noise against the ECG's own band; the ECG has little power above this.
NOISE_BAND_HZ = 40.0
ECG_BAND_HZ = (1.0, NOISE_BAND_HZ)
# Mains hum is steady and a notch filter's job; it does not make beats unreadable.
MAINS_HZ = (50.0, 60.0)
MAINS_HALF_WIDTH_HZ = 2.0
# Two beats this alike in QRS shape are of one kind.
LOOK_ALIKE_CORRELATION = 0.8
# Two samples this close to the window's extreme count as sitting on the rail.
RAIL_TOLERANCE_MV = 1e-6


@dataclass(frozen=True, slots=True)
class QualitySettings:
    window_s: float = 5.0
    min_peak_to_peak_mv: float = 0.1
    max_rail_share: float = 0.02
    max_noise_power_ratio: float = 0.04
    max_baseline_swing_mv: float = 1.5
    min_beat_agreement: float = 0.5
    min_rr_s: float = 0.25
    # Longer gaps are taken for lost beats, not asystole: a pause alarm must not rest on this.
    max_rr_s: float = 3.0
    # A record (or any span) is unusable when at least this share of its windows is.
    max_unusable_share: float = 0.5


@dataclass(frozen=True, slots=True)
class WindowQuality:
    start_s: float
    end_s: float
    reasons: tuple[str, ...]
    noise_power_ratio: float
    baseline_swing_mv: float
    beat_agreement: float | None

    @property
    def usable(self) -> bool:
        return not self.reasons


def noise_power_ratio(signal_mv: FloatArray, fs: float) -> float:
    """Power above NOISE_BAND_HZ over power in the ECG band; 0 when the rate cannot show it."""
    if fs / 2 <= NOISE_BAND_HZ or signal_mv.size < 2:
        return 0.0
    spectrum = np.abs(np.fft.rfft(signal_mv - signal_mv.mean())) ** 2
    frequencies = np.fft.rfftfreq(signal_mv.size, 1 / fs)
    ecg = spectrum[(frequencies >= ECG_BAND_HZ[0]) & (frequencies < ECG_BAND_HZ[1])].sum()
    mains = np.any(
        [np.abs(frequencies - hz) <= MAINS_HALF_WIDTH_HZ for hz in MAINS_HZ], axis=0
    )
    noise = spectrum[(frequencies >= NOISE_BAND_HZ) & ~mains].sum()
    return float(noise / ecg) if ecg > 0 else float(noise > 0)


def rail_share(signal_mv: FloatArray) -> float:
    """Share of samples at the window's highest or lowest value: an amplifier at its limit."""
    at_top = signal_mv >= signal_mv.max() - RAIL_TOLERANCE_MV
    at_bottom = signal_mv <= signal_mv.min() + RAIL_TOLERANCE_MV
    return float(np.mean(at_top | at_bottom))


def beat_agreement(conditioned: FloatArray, fs: float, r_peaks: IndexArray) -> float | None:
    """Share of beats whose QRS has a look-alike among the window's other beats; None under 3.

    Artefacts taken for beats are each unlike every other; normal beats, and PVCs from one
    focus, come in families, so bigeminy still agrees with itself.
    """
    if r_peaks.size < 3:
        return None
    unit = unit_qrs(beat_waveforms(conditioned, fs, r_peaks))
    correlations = unit @ unit.T
    np.fill_diagonal(correlations, -1.0)
    return float(np.mean(correlations.max(axis=1) >= LOOK_ALIKE_CORRELATION))


def baseline_swing(signal_mv: FloatArray, fs: float) -> float:
    """Peak-to-peak of the signal's 1 s moving mean (mV): how far the baseline travels."""
    return float(np.ptp(moving_mean(signal_mv, max(1, round(fs))))) if signal_mv.size else 0.0


def implausible_rr(
    r_peaks: IndexArray, fs: float, duration_s: float, limits: QualitySettings
) -> bool:
    """An interval no heart makes, or a window longer than the longest interval with no beat."""
    rr_s = np.diff(r_peaks) / fs
    if np.any((rr_s < limits.min_rr_s) | (rr_s > limits.max_rr_s)):
        return True
    return r_peaks.size < 2 and duration_s > limits.max_rr_s


def window_quality(
    signal_mv: FloatArray,
    fs: float,
    r_peaks: IndexArray,
    start_s: float = 0.0,
    settings: QualitySettings | None = None,
) -> WindowQuality:
    """One window: `signal_mv` in mV, `r_peaks` sample indices into it."""
    limits = settings or QualitySettings()
    signal = np.asarray(signal_mv, dtype=np.float64)
    peaks = np.asarray(r_peaks, dtype=np.int64)
    conditioned = condition(signal, fs)
    noise = noise_power_ratio(signal, fs)
    swing = baseline_swing(signal, fs)
    agreement = beat_agreement(conditioned, fs, peaks)
    checks = {
        FLAT: signal.size == 0 or float(np.ptp(conditioned)) < limits.min_peak_to_peak_mv,
        CLIPPED: signal.size > 0 and rail_share(signal) > limits.max_rail_share,
        HIGH_FREQUENCY_NOISE: noise > limits.max_noise_power_ratio,
        BASELINE_WANDER: swing > limits.max_baseline_swing_mv,
        BEATS_DISAGREE: agreement is not None and agreement < limits.min_beat_agreement,
        IMPLAUSIBLE_RR: implausible_rr(peaks, fs, signal.size / fs, limits),
    }
    return WindowQuality(
        start_s=start_s,
        end_s=start_s + signal.size / fs,
        reasons=tuple(reason for reason, failed in checks.items() if failed),
        noise_power_ratio=noise,
        baseline_swing_mv=swing,
        beat_agreement=agreement,
    )


def assess(
    signal_mv: FloatArray, fs: float, r_peaks: IndexArray, settings: QualitySettings | None = None
) -> list[WindowQuality]:
    """Consecutive windows of `settings.window_s` over a recording; a short tail is its own window
    when it is at least half a window long."""
    limits = settings or QualitySettings()
    signal = np.asarray(signal_mv, dtype=np.float64)
    peaks = np.asarray(r_peaks, dtype=np.int64)
    length = max(1, round(limits.window_s * fs))
    windows = []
    for start in range(0, signal.size, length):
        end = min(start + length, signal.size)
        if end - start < length / 2 and start > 0:
            break
        inside = peaks[(peaks >= start) & (peaks < end)] - start
        windows.append(window_quality(signal[start:end], fs, inside, start / fs, limits))
    return windows


def unusable_share(windows: list[WindowQuality]) -> float:
    return sum(not w.usable for w in windows) / len(windows) if windows else 1.0


def is_usable(windows: list[WindowQuality], settings: QualitySettings | None = None) -> bool:
    """Whether a span made of these windows is usable as a whole."""
    limits = settings or QualitySettings()
    return unusable_share(windows) < limits.max_unusable_share


def usable_at(windows: list[WindowQuality], times_s: FloatArray) -> BoolArray:
    """For each time, whether the window containing it is usable (False outside every window)."""
    times = np.asarray(times_s, dtype=np.float64)
    usable = np.zeros(times.shape, dtype=bool)
    for window in windows:
        inside = (times >= window.start_s) & (times < window.end_s)
        usable[inside] = window.usable
    return usable
