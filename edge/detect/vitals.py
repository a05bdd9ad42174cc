"""Vital-sign events against personal limits: tachycardia, bradycardia, desaturation,
hypoxaemia, fever, hypertension and hypotension.

Each limit is the clinician's if the config sets one, else learned from the patient's own
baseline (median ± max(k·SD, margin), clamped to safe absolute bounds), else a population
default. Every event needs confirmed evidence (`Confirmation`) to start and to end, with
hysteresis, so that one outlying sample never raises an alert.

Blood pressure and most thermometers give spot readings, where a minimum duration means
little: their events need a second reading beyond the limit, taken within a set time of the
first (24 h for blood pressure; 6 h, and at least 5 min later, for temperature), as home
monitoring guidelines ask for a repeated measurement before acting on one. The same holds for
the way back, and a continuous thermometer needs 5 min beyond the limit.

Desaturations follow the oxygen desaturation index (ODI) definitions: SpO2 at least 3 % (or
4 %) below the pre-event baseline, the median of the last two minutes outside any episode,
for at least 10 s.
"""

import statistics
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from edge.detect.baselines import Baseline, BaselineStore, RollingBaseline, Vital
from edge.detect.threshold import Confirmation, Crossing, Limit, LimitSource, LimitWatch, Phase

EventCode = Literal[
    "tachycardia", "bradycardia", "desaturation_3pct", "desaturation_4pct", "hypoxaemia",
    "fever", "hypertension", "hypotension",
]

UNITS: Mapping[Vital, str] = {
    "heart_rate": "beats/min",
    "spo2": "%",
    "temperature": "Cel",
    "systolic_pressure": "mm[Hg]",
    "diastolic_pressure": "mm[Hg]",
}


@dataclass(frozen=True, slots=True)
class VitalEvent:
    device_id: str
    code: EventCode
    vital: Vital
    phase: Phase
    # When the value first went beyond the limit.
    onset_at: float
    # For a started event, when it was confirmed; for an ended event, when the value came
    # back inside the limit, less the hysteresis.
    at: float
    # The most extreme value of the episode so far: the highest above a high limit, the
    # lowest below a low one (for a desaturation, the nadir).
    value: float
    limit: float
    limit_source: LimitSource
    # The patient's baseline when the episode began (for a desaturation, the pre-event
    # SpO2), if one was known.
    baseline: float | None
    unit: str


def _event(device_id: str, code: EventCode, vital: Vital, crossing: Crossing) -> VitalEvent:
    return VitalEvent(device_id, code, vital, crossing.phase, crossing.onset_at, crossing.at,
                      crossing.extreme, crossing.limit.value, crossing.limit.source,
                      crossing.limit.baseline, UNITS[vital])


@dataclass(frozen=True, slots=True)
class LimitRule:
    """One limit of a vital, and how it is chosen."""

    code: EventCode
    above: bool
    # True when reaching the limit counts (fever is 38.0 °C or more), False when only going
    # past it does.
    inclusive: bool
    default: float
    # A learned limit is baseline median ± max(k·SD, min_margin), SD being the baseline's
    # sigma, clamped to `bounds`, so that learning can neither make a limit alarm on normal
    # values nor let it miss dangerous ones.
    k: float
    min_margin: float
    bounds: tuple[float, float]

    def choose(self, clinician: float | None, baseline: Baseline | None) -> Limit:
        known = None if baseline is None else baseline.median
        if clinician is not None:
            return Limit(clinician, "clinician", known)
        if baseline is None:
            return Limit(self.default, "default")
        margin = max(self.k * baseline.sigma, self.min_margin)
        learned = baseline.median + margin if self.above else baseline.median - margin
        low, high = self.bounds
        return Limit(min(max(learned, low), high), "baseline", baseline.median)


@dataclass(frozen=True, slots=True)
class VitalSpec:
    """How one vital is watched."""

    vital: Vital
    hysteresis: float
    confirmation: Confirmation
    rules: tuple[LimitRule, ...]


# The bounds are clinical choices. Learning never lowers the tachycardia limit below the
# default: without activity data, the gateway cannot tell exercise from tachycardia.
HEART_RATE = VitalSpec("heart_rate", 5.0, Confirmation(10.0, max_gap_s=15.0), (
    LimitRule("tachycardia", above=True, inclusive=False, default=120.0, k=4.0,
              min_margin=40.0, bounds=(120.0, 150.0)),
    LimitRule("bradycardia", above=False, inclusive=False, default=40.0, k=4.0,
              min_margin=20.0, bounds=(35.0, 45.0)),
))
# Sustained low SpO2, as opposed to a drop from the patient's own level (a desaturation).
# Learning may only lower its limit, for patients who live with a low SpO2 (COPD).
SPO2 = VitalSpec("spo2", 1.0, Confirmation(60.0, max_gap_s=15.0), (
    LimitRule("hypoxaemia", above=False, inclusive=False, default=90.0, k=4.0,
              min_margin=4.0, bounds=(85.0, 90.0)),
))
TEMPERATURE = VitalSpec("temperature", 0.3, Confirmation(300.0, max_gap_s=6 * 3600.0), (
    LimitRule("fever", above=True, inclusive=True, default=38.0, k=3.0, min_margin=1.1,
              bounds=(37.5, 38.3)),
))
SYSTOLIC = VitalSpec("systolic_pressure", 5.0, Confirmation(0.0, max_gap_s=86_400.0), (
    LimitRule("hypertension", above=True, inclusive=True, default=135.0, k=3.0,
              min_margin=20.0, bounds=(135.0, 160.0)),
    LimitRule("hypotension", above=False, inclusive=False, default=90.0, k=3.0,
              min_margin=25.0, bounds=(85.0, 100.0)),
))
DIASTOLIC = VitalSpec("diastolic_pressure", 5.0, Confirmation(0.0, max_gap_s=86_400.0), (
    LimitRule("hypertension", above=True, inclusive=True, default=85.0, k=3.0,
              min_margin=15.0, bounds=(85.0, 100.0)),
    LimitRule("hypotension", above=False, inclusive=False, default=60.0, k=3.0,
              min_margin=15.0, bounds=(50.0, 65.0)),
))
_SPECS: Mapping[Vital, VitalSpec] = {
    spec.vital: spec for spec in (HEART_RATE, SPO2, TEMPERATURE, SYSTOLIC, DIASTOLIC)}


@dataclass(slots=True)
class _Side:
    rule: LimitRule
    clinician: float | None
    watch: LimitWatch


class VitalDetector:
    """One vital of one device against its limits. Samples taken outside any episode teach
    the patient's baseline; `clinician` maps an event code to the limit the clinician set."""

    def __init__(self, device_id: str, spec: VitalSpec, baseline: RollingBaseline | None,
                 clinician: Mapping[str, float] | None = None) -> None:
        clinician = clinician or {}
        unknown = set(clinician) - {rule.code for rule in spec.rules}
        if unknown:
            raise ValueError(f"{spec.vital}: no limit for {sorted(unknown)}")
        self._device_id = device_id
        self._vital = spec.vital
        self._baseline = baseline
        self._sides = [
            _Side(rule, clinician.get(rule.code),
                  LimitWatch(rule.above, spec.hysteresis, spec.confirmation, rule.inclusive))
            for rule in spec.rules
        ]

    def update(self, at: float, value: float) -> list[VitalEvent]:
        learned = None if self._baseline is None else self._baseline.baseline(at)
        events = []
        for side in self._sides:
            crossing = side.watch.update(at, value, side.rule.choose(side.clinician, learned))
            if crossing is not None:
                events.append(_event(self._device_id, side.rule.code, self._vital, crossing))
        if self._baseline is not None and all(side.watch.idle for side in self._sides):
            self._baseline.add(at, value)
        return events


@dataclass(frozen=True, slots=True)
class DesaturationSettings:
    # The pre-event baseline is the median SpO2 over this window, samples in an episode left
    # out; with fewer than `min_baseline_samples` there, no desaturation can start.
    baseline_window_s: float = 120.0
    min_baseline_samples: int = 30
    hysteresis_percent: float = 1.0
    # The ODI definitions: a drop lasting at least 10 s. Samples further apart than
    # `max_gap_s` restart the count, and do not count as monitored time.
    min_duration_s: float = 10.0
    max_gap_s: float = 10.0
    # The ODI counts desaturations over this rolling window, per hour of monitored time;
    # it has no value until `min_monitored_s` of the window is covered by samples.
    odi_window_s: float = 3600.0
    min_monitored_s: float = 600.0

    @property
    def confirmation(self) -> Confirmation:
        return Confirmation(self.min_duration_s, max_gap_s=self.max_gap_s)


@dataclass(frozen=True, slots=True)
class OxygenDesaturationIndex:
    window_start: float
    window_end: float
    # Time within the window covered by SpO2 samples, gaps left out.
    monitored_s: float
    desaturations_3pct: int
    desaturations_4pct: int
    # Desaturations per hour of monitored time; None when too little was monitored.
    odi3_per_hour: float | None
    odi4_per_hour: float | None


class _Coverage:
    """Time covered by samples no further apart than `max_gap_s`, over a rolling window."""

    def __init__(self, max_gap_s: float, window_s: float) -> None:
        self._max_gap_s = max_gap_s
        self._window_s = window_s
        self._spans: deque[list[float]] = deque()

    def add(self, at: float) -> None:
        if self._spans and at - self._spans[-1][1] <= self._max_gap_s:
            self._spans[-1][1] = max(self._spans[-1][1], at)
        else:
            self._spans.append([at, at])
        while self._spans[0][1] < at - self._window_s:
            self._spans.popleft()

    def seconds(self, until: float) -> float:
        since = until - self._window_s
        return sum(max(0.0, min(end, until) - max(start, since)) for start, end in self._spans)


@dataclass(slots=True)
class _Drop:
    code: EventCode
    percent: float
    watch: LimitWatch
    onsets: deque[float]


_DROPS: tuple[tuple[EventCode, float], ...] = (
    ("desaturation_3pct", 3.0), ("desaturation_4pct", 4.0))


class DesaturationDetector:
    """SpO2 drops of 3 % and 4 % below the pre-event baseline, and the ODI they make."""

    # Bounds the pre-event window however fast an oximeter reports.
    _MAX_WINDOW_SAMPLES = 1024

    def __init__(self, device_id: str, settings: DesaturationSettings | None = None) -> None:
        self._device_id = device_id
        self._settings = settings or DesaturationSettings()
        self._window: deque[tuple[float, float]] = deque(maxlen=self._MAX_WINDOW_SAMPLES)
        self._coverage = _Coverage(self._settings.max_gap_s,
                                   self._settings.odi_window_s)
        self._drops = [
            _Drop(code, percent, LimitWatch(False, self._settings.hysteresis_percent,
                                            self._settings.confirmation, inclusive=True),
                  deque())
            for code, percent in _DROPS
        ]

    def update(self, at: float, spo2: float) -> list[VitalEvent]:
        self._coverage.add(at)
        reference = self._pre_event_baseline(at)
        events = []
        for drop in self._drops:
            limit = (None if reference is None
                     else Limit(reference - drop.percent, "baseline", reference))
            crossing = drop.watch.update(at, spo2, limit)
            if crossing is None:
                continue
            if crossing.phase == "started":
                drop.onsets.append(crossing.onset_at)
            events.append(_event(self._device_id, drop.code, "spo2", crossing))
        if all(drop.watch.idle for drop in self._drops):
            self._window.append((at, spo2))
        return events

    def index(self, now: float) -> OxygenDesaturationIndex:
        since = now - self._settings.odi_window_s
        monitored_s = self._coverage.seconds(now)
        counts = []
        for drop in self._drops:
            while drop.onsets and drop.onsets[0] < since:
                drop.onsets.popleft()
            counts.append(sum(since <= onset <= now for onset in drop.onsets))
        rates = [count * 3600.0 / monitored_s
                 if monitored_s >= self._settings.min_monitored_s else None for count in counts]
        return OxygenDesaturationIndex(since, now, monitored_s, *counts, *rates)

    def _pre_event_baseline(self, at: float) -> float | None:
        while self._window and self._window[0][0] < at - self._settings.baseline_window_s:
            self._window.popleft()
        if len(self._window) < self._settings.min_baseline_samples:
            return None
        return statistics.median(spo2 for _, spo2 in self._window)


@dataclass(frozen=True, slots=True)
class ClinicianLimits:
    """Limits the clinician set for one patient; None leaves a limit to the patient's
    baseline or the population default."""

    heart_rate_high_bpm: float | None = None
    heart_rate_low_bpm: float | None = None
    spo2_low_percent: float | None = None
    temperature_high_celsius: float | None = None
    systolic_high_mmhg: float | None = None
    systolic_low_mmhg: float | None = None
    diastolic_high_mmhg: float | None = None
    diastolic_low_mmhg: float | None = None


def _limits_set(**limits: float | None) -> dict[str, float]:
    return {code: limit for code, limit in limits.items() if limit is not None}


class VitalSignsMonitor:
    """Every vital sign one device reports for its patient; baselines are learned into, and
    read from, `store` (None: population defaults and the clinician's limits only)."""

    def __init__(self, device_id: str, patient: str, store: BaselineStore | None,
                 limits: ClinicianLimits | None = None,
                 specs: Mapping[Vital, VitalSpec] | None = None,
                 desaturation: DesaturationSettings | None = None) -> None:
        limits = limits or ClinicianLimits()
        spec = {**_SPECS, **(specs or {})}

        def detector(vital: Vital, clinician: dict[str, float]) -> VitalDetector:
            baseline = None if store is None else store.baseline(patient, vital)
            return VitalDetector(device_id, spec[vital], baseline, clinician)

        self._heart_rate = detector("heart_rate", _limits_set(
            tachycardia=limits.heart_rate_high_bpm, bradycardia=limits.heart_rate_low_bpm))
        self._spo2 = detector("spo2", _limits_set(hypoxaemia=limits.spo2_low_percent))
        self._temperature = detector("temperature", _limits_set(
            fever=limits.temperature_high_celsius))
        self._systolic = detector("systolic_pressure", _limits_set(
            hypertension=limits.systolic_high_mmhg, hypotension=limits.systolic_low_mmhg))
        self._diastolic = detector("diastolic_pressure", _limits_set(
            hypertension=limits.diastolic_high_mmhg, hypotension=limits.diastolic_low_mmhg))
        self._desaturation = DesaturationDetector(device_id, desaturation)

    def heart_rate(self, at: float, bpm: float) -> list[VitalEvent]:
        return self._heart_rate.update(at, bpm)

    def spo2(self, at: float, percent: float) -> list[VitalEvent]:
        return self._desaturation.update(at, percent) + self._spo2.update(at, percent)

    def temperature(self, at: float, celsius: float) -> list[VitalEvent]:
        return self._temperature.update(at, celsius)

    def blood_pressure(self, at: float, systolic_mmhg: float | None,
                       diastolic_mmhg: float | None) -> list[VitalEvent]:
        events = []
        if systolic_mmhg is not None:
            events += self._systolic.update(at, systolic_mmhg)
        if diastolic_mmhg is not None:
            events += self._diastolic.update(at, diastolic_mmhg)
        return events

    def oxygen_desaturation_index(self, now: float) -> OxygenDesaturationIndex:
        return self._desaturation.index(now)
