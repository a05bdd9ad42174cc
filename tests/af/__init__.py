"""Synthetic RR series shared by the atrial fibrillation tests."""

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def sinus_rr(beats: int, seed: int, mean_s: float = 0.85) -> FloatArray:
    """Sinus rhythm: respiratory modulation of a few percent plus small beat-to-beat noise."""
    rng = np.random.default_rng(seed)
    breathing = 0.03 * np.sin(2 * np.pi * np.arange(beats) / 4.5 + rng.uniform(0, 2 * np.pi))
    rr: FloatArray = mean_s * (1 + breathing + 0.01 * rng.standard_normal(beats))
    return rr


def af_rr(beats: int, seed: int, mean_s: float = 0.7) -> FloatArray:
    """AF: independent intervals with a coefficient of variation near 0.2, as in Tateno 2001."""
    rng = np.random.default_rng(seed)
    return mean_s * rng.gamma(shape=25.0, scale=1 / 25.0, size=beats)


def with_ectopic_beats(rr_s: FloatArray, every: int, prematurity: float = 0.35) -> FloatArray:
    """Premature beats every `every` beats, each followed by a full compensatory pause."""
    ectopic = rr_s.copy()
    for start in range(every // 2, len(rr_s) - 1, every):
        pair = rr_s[start] + rr_s[start + 1]
        ectopic[start] = (1 - prematurity) * rr_s[start]
        ectopic[start + 1] = pair - ectopic[start]
    return ectopic


def _bump(t_s: FloatArray, centre_s: float, width_s: float, height_mv: float) -> FloatArray:
    bump: FloatArray = height_mv * np.exp(-0.5 * ((t_s - centre_s) / width_s) ** 2)
    return bump


def synthetic_ecg(rr_s: FloatArray, fs: float, *, p_waves: bool, seed: int,
                  f_waves_mv: float = 0.0, noise_mv: float = 0.0,
                  wide_beats: frozenset[int] = frozenset()) -> tuple[FloatArray, NDArray[np.intp]]:
    """A single-lead ECG with a beat at the end of each interval (the first one 1 s in): P wave
    (optional), QRS and T wave; `wide_beats` (indices of beats) are PVCs, wide, inverted and
    without P wave. Returns the signal in mV and the R peak sample indices."""
    rng = np.random.default_rng(seed)
    beat_times = 1.0 + np.concatenate(([0.0], np.cumsum(rr_s)))
    t = np.arange(int((beat_times[-1] + 1.0) * fs)) / fs
    signal = noise_mv * rng.standard_normal(len(t))
    signal += f_waves_mv * np.sin(2 * np.pi * 6.0 * t + np.cumsum(rng.normal(0, 0.3, len(t))))
    for index, beat in enumerate(beat_times):
        if index in wide_beats:
            signal += _bump(t, beat, 0.04, -1.2) + _bump(t, beat + 0.3, 0.06, 0.4)
            continue
        signal += _bump(t, beat, 0.01, 1.0) + _bump(t, beat + 0.25, 0.04, 0.3)
        if p_waves:
            signal += _bump(t, beat - 0.16, 0.02, 0.15)
    return signal, np.round(beat_times * fs).astype(np.intp)
