from edge.detect.threshold import HeartRateLimits, ThresholdDetector, ThresholdEvent

LIMITS = HeartRateLimits(high_bpm=120, low_bpm=40, hysteresis_bpm=5, min_duration_s=10)


def run(series: list[tuple[float, float]]) -> list[ThresholdEvent]:
    detector = ThresholdDetector("strap-01", LIMITS)
    events = []
    for at, bpm in series:
        events += detector.update(at, bpm)
    return events


def steady(start: int, stop: int, bpm: float) -> list[tuple[float, float]]:
    return [(float(t), bpm) for t in range(start, stop)]


def test_high_heart_rate_for_the_minimum_duration_starts_and_ends_an_event() -> None:
    events = run(steady(0, 5, 80) + steady(5, 30, 140) + steady(30, 50, 80))
    started, ended = events
    assert (started.kind, started.phase) == ("heart_rate_high", "started")
    assert started.onset_at == 5 and started.at == 15
    assert started.extreme_bpm == 140 and started.limit_bpm == 120
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
    assert ended.extreme_bpm == 150


def test_low_heart_rate_event() -> None:
    events = run(steady(0, 20, 35) + steady(20, 40, 60))
    assert [(e.kind, e.phase, e.extreme_bpm) for e in events] == [
        ("heart_rate_low", "started", 35), ("heart_rate_low", "ended", 35)]
