"""One simulated patient: a heart, lungs, oxygen, temperature and blood pressure that agree with
each other, with episodes scripted on a timeline. Pure and deterministic for a given seed; time
is in seconds since the start of the run (`t`).

Every device of a patient reads the same `Patient`, so a strap's RR intervals, an ECG patch's
waveform and an oximeter's pulse rate describe the same beats.
"""

import math
import random
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from edge.typed_toml import in_range, setting

EpisodeKind = Literal[
    "af", "tachycardia", "bradycardia", "pvc", "desaturation", "fever", "hypotension",
    "hypertension", "motion", "noise", "off_body",
]
BeatKind = Literal["N", "V"]

# What `Episode.level` means for each kind when the scenario gives none.
DEFAULT_LEVELS: dict[EpisodeKind, float] = {
    "af": 110.0,  # mean ventricular rate, beats/min
    "tachycardia": 140.0,  # beats/min
    "bradycardia": 38.0,  # beats/min
    "pvc": 8.0,  # premature ventricular beats per minute
    "desaturation": 85.0,  # SpO2 nadir, %
    "fever": 38.9,  # peak temperature, °C
    "hypotension": 78.0,  # systolic pressure, mmHg
    "hypertension": 182.0,  # systolic pressure, mmHg
    "motion": 1.5,  # artefact amplitude, mV
    "noise": 0.4,  # noise amplitude, mV
    "off_body": 0.0,  # unused
}
LEVEL_UNITS: dict[EpisodeKind, str] = {
    "af": "beats/min", "tachycardia": "beats/min", "bradycardia": "beats/min",
    "pvc": "per minute", "desaturation": "% SpO2", "fever": "°C", "hypotension": "mmHg systolic",
    "hypertension": "mmHg systolic", "motion": "mV", "noise": "mV", "off_body": "(none)",
}

_AF_RR_SPREAD = 0.22  # sigma of log RR in AF: irregularly irregular
_RSA_DEPTH = 0.05
_RR_JITTER = 0.012
_PVC_PREMATURITY = 0.6  # a PVC comes at this share of the expected RR; the pause makes up 2 RR
_FEVER_BPM_PER_C = 8.0
_CIRCADIAN_C = 0.3  # half the daily swing of body temperature, lowest before dawn
_KEEP_BEATS_S = 30.0


@dataclass(frozen=True, slots=True)
class Episode:
    """Something that happens to the patient from `start_s` for `duration_s`; `level` as in
    DEFAULT_LEVELS. Rates, SpO2, temperature and pressure move in and out over `ramp_s`; AF,
    PVCs and artefacts start and stop at once."""

    kind: EpisodeKind
    start_s: float
    duration_s: float
    level: float
    ramp_s: float = 5.0

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    def active(self, t: float) -> bool:
        return self.start_s <= t < self.end_s

    def weight(self, t: float) -> float:
        """How far the episode has taken hold at `t`, from 0 to 1."""
        rise = (t - self.start_s) / self.ramp_s
        fall = (self.end_s - t) / self.ramp_s
        return max(0.0, min(1.0, rise, fall))


@dataclass(frozen=True)
class Baseline:
    """The patient at rest, between episodes."""

    resting_bpm: float = setting(68.0, doc="Resting heart rate.", check=in_range(30, 150))
    breaths_per_min: float = setting(14.0, doc="Breathing rate (drives sinus arrhythmia).",
                                     check=in_range(4, 40))
    spo2_pct: float = setting(97.0, doc="SpO2 at rest, %.", check=in_range(80, 100))
    temperature_c: float = setting(36.7, doc="Core temperature at rest (a daily swing of "
                                   "±0.3 °C is added), °C.", check=in_range(34, 39))
    systolic_mmhg: float = setting(122.0, doc="Systolic pressure at rest, mmHg.",
                                   check=in_range(70, 220))
    diastolic_mmhg: float = setting(78.0, doc="Diastolic pressure at rest, mmHg.",
                                    check=in_range(40, 130))
    glucose_mg_dl: float = setting(105.0, doc="Fasting glucose, mg/dL.", check=in_range(40, 400))


@dataclass(frozen=True, slots=True)
class Beat:
    """A heartbeat at `t` (its R peak), `rr_s` after the one before; `af` when the atria
    fibrillate (no P wave)."""

    t: float
    rr_s: float
    kind: BeatKind
    af: bool


class Patient:
    def __init__(self, baseline: Baseline, episodes: Sequence[Episode] = (), seed: int = 0,
                 start_hour: float = 9.0) -> None:
        """`start_hour` is the local time of day at t = 0, for the circadian rhythm."""
        self.baseline = baseline
        self.episodes = tuple(episodes)
        self._random = random.Random(seed)
        self._start_hour = start_hour
        self._beats: deque[Beat] = deque([Beat(0.0, 60 / baseline.resting_bpm, "N", False)])
        self._pause_s: float | None = None

    def _active(self, kind: EpisodeKind, t: float) -> Iterator[Episode]:
        return (e for e in self.episodes if e.kind == kind and e.active(t))

    def _blend(self, value: float, kinds: tuple[EpisodeKind, ...], t: float) -> float:
        for episode in self.episodes:
            if episode.kind in kinds:
                value += (episode.level - value) * episode.weight(t)
        return value

    # The heart

    def sinus_rate_at(self, t: float) -> float:
        fever = max(0.0, self.temperature_at(t) - 37.2) * _FEVER_BPM_PER_C
        return self._blend(self.baseline.resting_bpm + fever, ("tachycardia", "bradycardia"), t)

    def in_af(self, t: float) -> bool:
        return any(self._active("af", t))

    def heart_rate_at(self, t: float) -> float:
        """Beats per minute: the mean of the last few beats' rate."""
        recent = [b.rr_s for b in self.beats_between(t - 5.0, t)]
        return 60 * len(recent) / sum(recent) if recent else self.sinus_rate_at(t)

    def beats_between(self, start: float, end: float) -> list[Beat]:
        """The beats with start <= t < end. A later call's `start` must not go back more than
        30 s: older beats are forgotten."""
        while self._beats[-1].t < end:
            self._beats.append(self._next_beat(self._beats[-1]))
        while len(self._beats) > 2 and self._beats[1].t < start - _KEEP_BEATS_S:
            self._beats.popleft()
        return [b for b in self._beats if start <= b.t < end]

    def _next_beat(self, last: Beat) -> Beat:
        t = last.t
        if self._pause_s is not None:
            rr, self._pause_s = self._pause_s, None
            return Beat(t + rr, rr, "N", self.in_af(t + rr))
        af = next(self._active("af", t), None)
        if af is not None:
            rr = 60 / af.level * math.exp(self._random.gauss(0, _AF_RR_SPREAD))
            rr = min(2.0, max(0.28, rr))
        else:
            rr = (60 / self.sinus_rate_at(t) * (1 + _RSA_DEPTH * self.breathing_phase(t))
                  * (1 + self._random.gauss(0, _RR_JITTER)))
        pvc = next(self._active("pvc", t), None)
        if pvc is not None and self._random.random() < pvc.level * rr / 60:
            self._pause_s = rr * (2 - _PVC_PREMATURITY)
            rr *= _PVC_PREMATURITY
            return Beat(t + rr, rr, "V", af is not None)
        return Beat(t + rr, rr, "N", af is not None)

    # Breathing, oxygen, temperature, pressure, glucose

    def breathing_phase(self, t: float) -> float:
        return math.sin(2 * math.pi * self.baseline.breaths_per_min / 60 * t)

    def spo2_at(self, t: float) -> float:
        return self._blend(self.baseline.spo2_pct, ("desaturation",), t)

    def temperature_at(self, t: float) -> float:
        hour = (self._start_hour + t / 3600) % 24
        circadian = _CIRCADIAN_C * math.sin(2 * math.pi * (hour - 12) / 24)
        return self._blend(self.baseline.temperature_c + circadian, ("fever",), t)

    def blood_pressure_at(self, t: float) -> tuple[float, float]:
        """Systolic and diastolic, mmHg."""
        systolic = self._blend(self.baseline.systolic_mmhg, ("hypotension", "hypertension"), t)
        return systolic, self.baseline.diastolic_mmhg * systolic / self.baseline.systolic_mmhg

    def glucose_at(self, t: float) -> float:
        """mg/dL, with a gentle rise and fall through the day."""
        hour = (self._start_hour + t / 3600) % 24
        return self.baseline.glucose_mg_dl + 25 * max(0.0, math.sin(2 * math.pi * hour / 6))

    # What sensors see besides the body

    def artefact_mv(self, t: float) -> tuple[float, float]:
        """Amplitudes of motion artefact and of broadband noise at `t`, mV."""
        motion = sum(e.level for e in self._active("motion", t))
        noise = sum(e.level for e in self._active("noise", t))
        return motion, noise

    def off_body(self, t: float) -> bool:
        return any(self._active("off_body", t))
