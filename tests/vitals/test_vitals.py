from collections.abc import Callable, Iterable
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.detect.baselines import Baseline, BaselineParams, BaselineStore
from edge.detect.threshold import Confirmation
from edge.detect.vitals import (
    HEART_RATE,
    TEMPERATURE,
    ClinicianLimits,
    DesaturationDetector,
    VitalDetector,
    VitalEvent,
    VitalSignsMonitor,
)

DAY = 86_400.0
HOUR = 3600.0
MINUTE = 60.0
Series = list[tuple[float, float]]
Update = Callable[[float, float], list[VitalEvent]]


def feed(update: Update, series: Iterable[tuple[float, float]]) -> list[VitalEvent]:
    return [event for at, value in series for event in update(at, value)]


def steady(start: float, stop: float, value: float, step: float = 1.0) -> Series:
    count = round((stop - start) / step)
    return [(start + index * step, value) for index in range(count)]


def summary(events: list[VitalEvent]) -> list[tuple[str, str]]:
    return [(event.code, event.phase) for event in events]


def monitor(store: BaselineStore | None = None,
            limits: ClinicianLimits | None = None) -> VitalSignsMonitor:
    return VitalSignsMonitor("dev-1", "patient-1", store or BaselineStore(), limits)


def quick_store(**overrides: int) -> BaselineStore:
    """Baselines that have an opinion after a few values on each of three days."""
    params = dict(bucket_hours=4, history_days=14, min_days=3, min_count=5) | overrides
    return BaselineStore({
        "heart_rate": BaselineParams(1.0, (25.0, 250.0), **params),
        "spo2": BaselineParams(1.0, (50.0, 100.0), **params),
        "temperature": BaselineParams(0.05, (30.0, 43.0), **params),
        "systolic_pressure": BaselineParams(1.0, (50.0, 260.0), **params),
        "diastolic_pressure": BaselineParams(1.0, (25.0, 180.0), **params),
    })


def days_of(value: float, days: int = 3, hour: float = 1.0, count: int = 60) -> Series:
    """`count` samples a second from `hour` o'clock, on each of the first `days` days."""
    return [sample for day in range(days)
            for sample in steady(day * DAY + hour * HOUR, day * DAY + hour * HOUR + count, value)]


# Heart rate


def test_tachycardia_against_the_default_limit_starts_and_ends() -> None:
    events = feed(monitor().heart_rate, steady(0, 5, 80) + steady(5, 30, 140)
                  + steady(30, 50, 80))
    assert summary(events) == [("tachycardia", "started"), ("tachycardia", "ended")]
    started, ended = events
    default = HEART_RATE.rules[0].default
    assert (started.limit, started.limit_source, started.baseline) == (default, "default", None)
    assert (started.onset_at, started.at, started.value) == (5, 15, 140)
    assert (ended.onset_at, ended.at, ended.vital, ended.unit) == (5, 30, "heart_rate",
                                                                  "beats/min")


def test_bradycardia_against_the_default_limit() -> None:
    events = feed(monitor().heart_rate, steady(0, 20, 30) + steady(20, 40, 60))
    assert summary(events) == [("bradycardia", "started"), ("bradycardia", "ended")]
    assert events[0].value == 30 and events[0].limit == HEART_RATE.rules[1].default


def test_a_high_resting_heart_rate_raises_the_learned_limit() -> None:
    vitals = monitor(quick_store())
    feed(vitals.heart_rate, days_of(95.0))
    today = 3 * DAY + HOUR
    # 125 bpm would cross the default limit, but not this patient's.
    assert feed(vitals.heart_rate, steady(today, today + 60, 125)) == []
    events = feed(vitals.heart_rate, steady(today + 60, today + 120, 145))
    assert summary(events) == [("tachycardia", "started")]
    assert events[0].limit_source == "baseline" and events[0].baseline == 95.0
    assert HEART_RATE.rules[0].default < events[0].limit < 145


def test_a_learned_limit_never_leaves_its_safe_bounds() -> None:
    vitals = monitor(quick_store())
    feed(vitals.heart_rate, days_of(50.0))
    today = 3 * DAY + HOUR
    lowest_high_limit = HEART_RATE.rules[0].bounds[0]
    events = feed(vitals.heart_rate, steady(today, today + 30, lowest_high_limit + 1))
    assert [(e.code, e.limit, e.limit_source) for e in events] == [
        ("tachycardia", lowest_high_limit, "baseline")]


def test_the_clinicians_limit_overrides_the_learned_one() -> None:
    vitals = monitor(quick_store(), ClinicianLimits(heart_rate_high_bpm=100))
    feed(vitals.heart_rate, days_of(95.0))
    today = 3 * DAY + HOUR
    events = feed(vitals.heart_rate, steady(today, today + 30, 105))
    assert [(e.code, e.limit, e.limit_source, e.baseline) for e in events] == [
        ("tachycardia", 100, "clinician", 95.0)]


def test_an_episode_never_teaches_the_baseline() -> None:
    store = quick_store(min_days=1)
    vitals = monitor(store)
    # Longer at 140 bpm than at rest: learned, it would move the median to 140.
    feed(vitals.heart_rate, steady(HOUR, HOUR + 30, 60) + steady(HOUR + 30, HOUR + 300, 140))
    learned = store.baseline("patient-1", "heart_rate").baseline(DAY + HOUR)
    assert learned is not None and learned.median == 60 and learned.count == 30


@given(st.floats(20, 300), st.one_of(st.none(), st.floats(20, 300)),
       st.floats(20, 300), st.floats(0, 30))
def test_a_limit_is_the_clinicians_else_a_bounded_learned_one(
        clinician: float, maybe_clinician: float | None, median: float, mad: float) -> None:
    rule = HEART_RATE.rules[0]
    baseline = Baseline(median, mad, 1000, 14)
    assert rule.choose(clinician, baseline).value == clinician
    assert rule.choose(clinician, None).source == "clinician"
    assert rule.choose(None, None).value == rule.default
    learned = rule.choose(maybe_clinician, baseline)
    if maybe_clinician is None:
        assert rule.bounds[0] <= learned.value <= rule.bounds[1]
        assert learned.baseline == median


def test_the_heart_rate_spec_can_come_from_the_config() -> None:
    patient = replace(HEART_RATE, confirmation=Confirmation(30.0))
    vitals = VitalSignsMonitor("dev-1", "patient-1", BaselineStore(),
                               specs={"heart_rate": patient})
    assert feed(vitals.heart_rate, steady(0, 20, 150) + steady(20, 60, 70)) == []
    assert summary(feed(vitals.heart_rate, steady(60, 100, 150))) == [("tachycardia", "started")]


def test_unknown_clinician_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="fever"):
        VitalDetector("dev-1", HEART_RATE, None, {"fever": 38.0})


# SpO2

NORMAL_SPO2 = 97.0


def desaturation(start: float, depth: float, length: float) -> Series:
    return steady(start, start + length, NORMAL_SPO2 - depth)


def test_a_4pct_drop_for_10_s_is_both_a_3pct_and_a_4pct_desaturation() -> None:
    events = feed(monitor().spo2, steady(0, 60, NORMAL_SPO2) + desaturation(60, 4, 15)
                  + steady(75, 140, NORMAL_SPO2))
    assert sorted(summary(events)) == [
        ("desaturation_3pct", "ended"), ("desaturation_3pct", "started"),
        ("desaturation_4pct", "ended"), ("desaturation_4pct", "started")]
    for event in events:
        drop = 3 if event.code == "desaturation_3pct" else 4
        assert (event.baseline, event.limit) == (NORMAL_SPO2, NORMAL_SPO2 - drop)
        assert (event.value, event.onset_at, event.unit) == (NORMAL_SPO2 - 4, 60, "%")
        assert event.at == (70 if event.phase == "started" else 75)


def test_a_drop_of_exactly_3pct_counts_for_odi3_only() -> None:
    events = feed(monitor().spo2, steady(0, 60, NORMAL_SPO2) + desaturation(60, 3, 15)
                  + steady(75, 140, NORMAL_SPO2))
    assert {event.code for event in events} == {"desaturation_3pct"}


def test_a_drop_shorter_than_10_s_is_no_desaturation() -> None:
    assert feed(monitor().spo2, steady(0, 60, NORMAL_SPO2) + desaturation(60, 6, 8)
                + steady(68, 140, NORMAL_SPO2)) == []


def test_no_desaturation_before_a_pre_event_baseline_is_known() -> None:
    assert feed(monitor().spo2, steady(0, 10, NORMAL_SPO2) + desaturation(10, 6, 20)) == []


def test_the_odi_counts_desaturations_per_monitored_hour() -> None:
    detector = DesaturationDetector("dev-1")
    cycle_s, cycles = 300, 12
    for cycle in range(cycles):
        start = cycle * cycle_s
        feed(detector.update, steady(start, start + cycle_s - 15, NORMAL_SPO2)
             + desaturation(start + cycle_s - 15, 5, 15))
    index = detector.index(cycles * cycle_s)
    assert (index.desaturations_3pct, index.desaturations_4pct) == (cycles, cycles)
    assert index.monitored_s == pytest.approx(cycles * cycle_s, abs=2)
    assert index.odi4_per_hour == pytest.approx(cycles * 3600 / index.monitored_s)
    later = detector.index(cycles * cycle_s + 2 * HOUR)
    assert (later.desaturations_4pct, later.monitored_s, later.odi4_per_hour) == (0, 0, None)


def test_gaps_are_not_monitored_time_and_too_little_gives_no_odi() -> None:
    detector = DesaturationDetector("dev-1")
    feed(detector.update, steady(0, 240, NORMAL_SPO2) + steady(1000, 1240, NORMAL_SPO2))
    index = detector.index(1240)
    assert index.monitored_s == pytest.approx(2 * 239)
    assert (index.odi3_per_hour, index.desaturations_3pct) == (None, 0)


def test_sustained_low_spo2_is_hypoxaemia() -> None:
    events = feed(monitor().spo2, steady(0, 120, 85) + steady(120, 300, 96))
    assert ("hypoxaemia", "started") in summary(events)
    assert ("hypoxaemia", "ended") in summary(events)


# Temperature: spot readings


def test_one_feverish_reading_is_not_a_fever() -> None:
    readings = [(0.0, 36.8), (30 * MINUTE, 38.6), (60 * MINUTE, 36.9), (90 * MINUTE, 36.7)]
    assert feed(monitor().temperature, readings) == []


def test_a_second_feverish_reading_confirms_a_fever() -> None:
    readings = [(0.0, 36.8), (30 * MINUTE, 38.0), (60 * MINUTE, 38.6), (90 * MINUTE, 37.0),
                (120 * MINUTE, 36.9)]
    events = feed(monitor().temperature, readings)
    assert summary(events) == [("fever", "started"), ("fever", "ended")]
    started = events[0]
    assert (started.onset_at, started.at, started.value, started.unit) == (
        30 * MINUTE, 60 * MINUTE, 38.6, "Cel")
    assert (started.limit, started.limit_source) == (TEMPERATURE.rules[0].default, "default")


def test_feverish_readings_too_far_apart_do_not_confirm_each_other() -> None:
    readings = [(0.0, 38.6), (HOUR, 36.8), (2 * HOUR, 38.6), (9 * HOUR, 38.6),
                (10 * HOUR, 36.8)]
    assert feed(monitor().temperature, readings[2:4]) == []
    assert feed(monitor().temperature, readings) == []


def test_a_low_personal_temperature_lowers_the_fever_limit() -> None:
    vitals = monitor(quick_store())
    readings = [(day * DAY + hour * HOUR, 36.2) for day in range(3) for hour in (8, 9, 10)]
    feed(vitals.temperature, readings)
    today = 3 * DAY
    events = feed(vitals.temperature, [(today + 8 * HOUR, 37.6), (today + 9 * HOUR, 37.7)])
    assert summary(events) == [("fever", "started")]
    fever = events[0]
    assert fever.limit_source == "baseline" and fever.baseline == pytest.approx(36.2)
    assert fever.limit == TEMPERATURE.rules[0].bounds[0] < TEMPERATURE.rules[0].default


# Blood pressure: spot readings


def readings_of(vitals: VitalSignsMonitor, pressures: list[tuple[float | None, float | None]],
                every_s: float = 10 * MINUTE) -> list[VitalEvent]:
    return [event for index, (systolic, diastolic) in enumerate(pressures)
            for event in vitals.blood_pressure(index * every_s, systolic, diastolic)]


def test_one_high_blood_pressure_reading_is_not_hypertension() -> None:
    assert readings_of(monitor(), [(120, 80), (170, 80), (122, 78), (118, 81)]) == []


def test_a_confirmed_high_systolic_pressure_is_hypertension() -> None:
    events = readings_of(monitor(), [(120, 80), (150, 80), (155, 82), (120, 80), (118, 79)])
    assert [(e.code, e.vital, e.phase) for e in events] == [
        ("hypertension", "systolic_pressure", "started"),
        ("hypertension", "systolic_pressure", "ended")]
    assert events[0].value == 155 and events[0].unit == "mm[Hg]"


def test_diastolic_pressure_has_its_own_limits() -> None:
    events = readings_of(monitor(), [(120, 80), (125, 95), (124, 96), (120, 78), (120, 77)])
    assert [(e.code, e.vital) for e in events] == [("hypertension", "diastolic_pressure")] * 2


def test_confirmed_low_pressure_is_hypotension_and_clinician_limits_apply() -> None:
    limits = ClinicianLimits(systolic_low_mmhg=100)
    events = readings_of(monitor(limits=limits), [(120, 80), (95, 70), (96, 71)])
    assert [(e.code, e.phase, e.limit, e.limit_source) for e in events] == [
        ("hypotension", "started", 100, "clinician")]


def test_a_missing_component_leaves_the_other_one_watched() -> None:
    events = readings_of(monitor(), [(None, 80), (None, 95), (None, 96)])
    assert [(e.code, e.vital) for e in events] == [("hypertension", "diastolic_pressure")]


def test_readings_more_than_a_day_apart_do_not_confirm_each_other() -> None:
    assert readings_of(monitor(), [(170, 80), (170, 80)], every_s=25 * HOUR) == []


# One bad sample


def _spot_pressure(vitals: VitalSignsMonitor) -> Update:
    return lambda at, systolic: vitals.blood_pressure(at, systolic, 80)


# (feed, usual value, seconds between samples, outliers)
_VITALS: dict[str, tuple[Callable[[VitalSignsMonitor], Update], float, float,
                         st.SearchStrategy[float]]] = {
    "heart_rate": (lambda v: v.heart_rate, 70.0, 1.0, st.floats(0, 300)),
    "spo2": (lambda v: v.spo2, NORMAL_SPO2, 1.0, st.floats(0, 100)),
    "temperature": (lambda v: v.temperature, 36.8, 30 * MINUTE, st.floats(25, 45)),
    "blood_pressure": (_spot_pressure, 120.0, 12 * HOUR, st.floats(30, 260)),
}


@given(st.sampled_from(sorted(_VITALS)), st.integers(0, 59), st.data())
def test_one_outlying_sample_never_raises_an_alert(vital: str, position: int,
                                                   data: st.DataObject) -> None:
    update_of, usual, step, outliers = _VITALS[vital]
    series = steady(0, 60 * step, usual, step)
    series[position] = (series[position][0], data.draw(outliers))
    assert feed(update_of(monitor()), series) == []
