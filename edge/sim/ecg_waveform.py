"""A single-lead ECG drawn from a patient's beats: each beat a sum of Gaussian waves (P, Q, R, S,
T), as in McSharry's ECGSYN; no P wave but fibrillatory waves in AF; wide QRS and discordant T for
a PVC; breathing wander, motion artefact and noise on top. Continuous across calls, so a device
can draw it frame by frame at any sampling rate."""

import math
import random

import numpy as np
import numpy.typing as npt

from edge.sim.physiology import Beat, Patient

# (offset from the R peak in s, amplitude in mV, width (sigma) in s)
Wave = tuple[float, float, float]
_P: Wave = (-0.17, 0.13, 0.022)
_SINUS_QRS: tuple[Wave, ...] = ((-0.028, -0.10, 0.008), (0.0, 1.15, 0.010), (0.030, -0.25, 0.009))
_PVC_QRS: tuple[Wave, ...] = ((0.0, 1.5, 0.030), (0.075, -0.45, 0.028))
_T_AMPLITUDE_MV = 0.32
_PVC_T_AMPLITUDE_MV = -0.5
_T_WIDTH_S = 0.05
_REACH_S = 1.0  # waves further than this from their R peak are negligible
_F_WAVE_MV = 0.07
_F_WAVE_HZ = 6.0
_WANDER_MV = 0.08
_BASE_NOISE_MV = 0.012
_OFF_BODY_NOISE_MV = 0.004


def _t_offset_s(rr_s: float) -> float:
    """The T wave's peak, later at slower rates (Bazett)."""
    return 0.24 * math.sqrt(min(2.0, max(0.3, rr_s)) / 0.8)


def beat_waves(beat: Beat) -> list[Wave]:
    if beat.kind == "V":
        return [*_PVC_QRS, (_t_offset_s(beat.rr_s) + 0.06, _PVC_T_AMPLITUDE_MV, 0.07)]
    waves = [*_SINUS_QRS, (_t_offset_s(beat.rr_s), _T_AMPLITUDE_MV, _T_WIDTH_S)]
    return waves if beat.af else [_P, *waves]


class EcgWaveform:
    """Draws the ECG of one patient for one device (its own noise), `fs` samples a second."""

    def __init__(self, patient: Patient, fs: float, seed: int = 0) -> None:
        self._patient = patient
        self.fs = fs
        self._noise = np.random.default_rng(seed)
        motion = random.Random(seed + 1)
        # A few slow sinusoids of random frequency and phase: continuous, band-limited motion.
        self._motion = [(motion.uniform(0.3, 2.5), motion.uniform(0, 2 * math.pi))
                        for _ in range(5)]

    def samples_mv(self, first: int, count: int) -> npt.NDArray[np.float64]:
        """Samples `first` to `first + count - 1` (sample n is at t = n / fs)."""
        t = (first + np.arange(count)) / self.fs
        start, end = float(t[0]), float(t[-1])
        signal = np.zeros(count)
        if self._patient.off_body((start + end) / 2):
            return self._noise.normal(0, _OFF_BODY_NOISE_MV, count)
        for beat in self._patient.beats_between(start - _REACH_S, end + _REACH_S):
            for offset, amplitude, width in beat_waves(beat):
                signal += amplitude * np.exp(-0.5 * ((t - beat.t - offset) / width) ** 2)
        if self._patient.in_af((start + end) / 2):
            signal += _F_WAVE_MV * np.sin(2 * np.pi * _F_WAVE_HZ * t
                                          + 0.8 * np.sin(2 * np.pi * 0.3 * t))
        breathing = self._patient.baseline.breaths_per_min / 60
        signal += _WANDER_MV * np.sin(2 * np.pi * breathing * t)
        _, noise_mv = self._patient.artefact_mv((start + end) / 2)
        signal += self.motion_mv(t)
        return signal + self._noise.normal(0, _BASE_NOISE_MV + noise_mv, count)

    def motion_mv(self, t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Motion artefact at times `t` (one motion for the whole span), for the ECG and for an
        accelerometer to agree with it."""
        motion_mv, _ = self._patient.artefact_mv(float(t[len(t) // 2]))
        if not motion_mv:
            return np.zeros(len(t))
        return motion_mv / len(self._motion) * sum(
            (np.sin(2 * np.pi * f * t + phase) for f, phase in self._motion),
            start=np.zeros(len(t)))
