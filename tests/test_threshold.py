from hypothesis import given
from hypothesis import strategies as st

from edge.detect.threshold import Confirmation, Crossing, Limit, LimitWatch
from edge.detect.vitals import HEART_RATE, VitalDetector, VitalEvent


def run(series: list[tuple[float, float]]) -> list[VitalEvent]:
    """Heart rate against the population defaults: above 120 or below 40 bpm for 10 s, with
    5 bpm of hysteresis."""
    detector = VitalDetector("strap-01", HEART_RATE, baseline=None)
    events = []
    for at, bpm in series:
        events += detector.update(at, bpm)
    return events


def steady(start: int, stop: int, bpm: float) -> list[tuple[float, float]]:
    return [(float(t), bpm) for t in range(start, stop)]


def test_high_heart_rate_for_the_minimum_duration_starts_and_ends_an_event() -> None:
    events = run(steady(0, 5, 80) + steady(5, 30, 140) + steady(30, 50, 80))
    started, ended = events
    assert (started.code, started.phase) == ("tachycardia", "started")
    assert started.onset_at == 5 and started.at == 15
    assert started.value == 140 and started.limit == 120
    assert (ended.phase, ended.onset_at, ended.at) == ("ended", 5, 30)


def test_a_crossing_shorter_than_the_minimum_duration_raises_nothing() -> None:
    assert run(steady(0, 9, 140) + steady(9, 30, 80)) == []


def test_one_bad_sample_never_raises_an_alert() -> None:
    assert run([*steady(0, 10, 80), (10, 250), *steady(11, 40, 80)]) == []


def test_hysteresis_keeps_an_event_open_just_below_the_limit() -> None:
    # 118 bpm is under the limit but not under limit - hysteresis (115): still high.
    events = run(steady(0, 15, 140) + steady(15, 60, 118))
    assert [e.phase for e in events] == ["started"]
    events = run(steady(0, 15, 140) + steady(15, 60, 114))
    assert [e.phase for e in events] == ["started", "ended"]


def test_recovery_interrupted_by_another_crossing_keeps_the_event_open() -> None:
    events = run(steady(0, 15, 140) + steady(15, 20, 80) + steady(20, 25, 150)
                 + steady(25, 60, 80))
    assert [e.phase for e in events] == ["started", "ended"]
    ended = events[1]
    assert ended.at == 25
    assert ended.value == 150


def test_low_heart_rate_event() -> None:
    events = run(steady(0, 20, 35) + steady(20, 40, 60))
    assert [(e.code, e.phase, e.value) for e in events] == [
        ("bradycardia", "started", 35), ("bradycardia", "ended", 35)]


# LimitWatch, the state machine under every limit

HIGH = Limit(100.0)


def watch(series: list[tuple[float, float]], confirmation: Confirmation,
          inclusive: bool = False, limit: Limit | None = HIGH) -> list[Crossing]:
    limit_watch = LimitWatch(True, 5.0, confirmation, inclusive)
    crossings = (limit_watch.update(at, value, limit) for at, value in series)
    return [crossing for crossing in crossings if crossing is not None]


def test_a_gap_restarts_the_evidence() -> None:
    confirmation = Confirmation(10.0, max_gap_s=5.0)
    assert watch([(0, 150), (20, 150), (40, 150)], confirmation) == []
    crossings = watch([(0, 150), (20, 150), *steady(40, 51, 150)], confirmation)
    assert [(c.phase, c.onset_at, c.at) for c in crossings] == [("started", 40, 50)]


def test_spot_readings_need_the_minimum_number_of_samples() -> None:
    confirmation = Confirmation(0.0, min_samples=3)
    assert watch([(0, 150), (1, 150), (2, 90)], confirmation) == []
    crossings = watch([(0, 150), (1, 160), (2, 150)], confirmation)
    assert [(c.phase, c.at, c.extreme) for c in crossings] == [("started", 2, 160)]


def test_an_inclusive_limit_counts_a_value_at_the_limit() -> None:
    at_limit = steady(0, 5, HIGH.value)
    assert watch(at_limit, Confirmation(2.0)) == []
    assert [c.phase for c in watch(at_limit, Confirmation(2.0), inclusive=True)] == ["started"]


def test_an_episode_keeps_the_limit_it_began_with() -> None:
    limit_watch = LimitWatch(True, 5.0, Confirmation(2.0))
    started = [limit_watch.update(at, 150, Limit(100.0, "default")) for at in range(3)][-1]
    # A limit raised mid-episode changes neither the episode nor its end.
    raised = Limit(200.0, "baseline")
    assert [limit_watch.update(at, 150, raised) for at in range(3, 10)] == [None] * 7
    ended = [limit_watch.update(at, 90, raised) for at in range(10, 13)][-1]
    assert started is not None and ended is not None
    assert started.limit == ended.limit == Limit(100.0, "default")
    assert limit_watch.idle


def test_without_a_limit_an_idle_watch_ignores_samples() -> None:
    assert watch(steady(0, 30, 150), Confirmation(2.0), limit=None) == []


@given(st.integers(0, 59), st.floats(-1e3, 1e3), st.floats(0, 20), st.integers(2, 5))
def test_one_outlying_sample_never_crosses_any_limit(position: int, outlier: float,
                                                      min_duration_s: float,
                                                      min_samples: int) -> None:
    series = steady(0, 60, 50.0)
    series[position] = (position, outlier)
    confirmation = Confirmation(min_duration_s, min_samples)
    for above in (True, False):
        limit_watch = LimitWatch(above, 5.0, confirmation, inclusive=True)
        limit = Limit(60.0 if above else 40.0)
        assert all(limit_watch.update(at, value, limit) is None for at, value in series)
