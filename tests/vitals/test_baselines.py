import json
import statistics
import typing

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.detect.baselines import (
    DEFAULT_PARAMS,
    BaselineParams,
    BaselineStore,
    RollingBaseline,
    Vital,
    weighted_median,
)

DAY = 86_400.0
HOUR = 3600.0
PARAMS = BaselineParams(1.0, (25.0, 250.0), bucket_hours=4, history_days=7, min_days=3,
                        min_count=10)


def learn(baseline: RollingBaseline, days: range, hour: float, values: list[float]) -> None:
    """`values`, one a second from `hour` o'clock, on each of `days`."""
    for day in days:
        for second, value in enumerate(values):
            baseline.add(day * DAY + hour * HOUR + second, value)


def test_no_opinion_until_enough_days_and_values() -> None:
    baseline = RollingBaseline(PARAMS)
    learn(baseline, range(2), 1, [60.0] * 20)
    assert baseline.baseline(2 * DAY + HOUR) is None
    sparse = RollingBaseline(PARAMS)
    learn(sparse, range(3), 1, [60.0] * 3)
    assert sparse.baseline(3 * DAY + HOUR) is None


def test_three_days_of_data_give_a_baseline() -> None:
    baseline = RollingBaseline(PARAMS)
    learn(baseline, range(3), 1, [58.0, 60.0, 60.0, 62.0, 60.0] * 4)
    learned = baseline.baseline(3 * DAY + HOUR)
    assert learned is not None
    assert (learned.median, learned.mad, learned.count, learned.days) == (60.0, 0.0, 60, 3)


@given(st.lists(st.integers(40, 120), min_size=10, max_size=60))
def test_median_and_mad_match_the_textbook_definition(values: list[int]) -> None:
    baseline = RollingBaseline(PARAMS)
    learn(baseline, range(3), 1, [float(v) for v in values])
    learned = baseline.baseline(3 * DAY + HOUR)
    assert learned is not None
    data = values * 3
    median = statistics.median(data)
    assert learned.median == median
    assert learned.mad == statistics.median(abs(v - median) for v in data)


@given(st.lists(st.tuples(st.floats(-1e6, 1e6), st.integers(1, 50)), min_size=1))
def test_weighted_median_is_the_median_of_the_expanded_values(
        items: list[tuple[float, int]]) -> None:
    expanded = [value for value, count in items for _ in range(count)]
    assert weighted_median(sorted(items)) == pytest.approx(statistics.median(expanded))


def test_the_current_day_never_moves_its_own_baseline() -> None:
    baseline = RollingBaseline(PARAMS)
    learn(baseline, range(3), 1, [60.0] * 20)
    before = baseline.baseline(3 * DAY + HOUR)
    learn(baseline, range(3, 4), 1, [140.0] * 500)
    assert baseline.baseline(3 * DAY + 2 * HOUR) == before
    moved = baseline.baseline(4 * DAY + HOUR)
    assert moved is not None and before is not None and moved.median > before.median


def test_each_time_of_day_has_its_own_baseline() -> None:
    baseline = RollingBaseline(PARAMS)
    learn(baseline, range(3), 2, [55.0] * 20)
    learn(baseline, range(3), 14, [80.0] * 20)
    night, day = baseline.baseline(3 * DAY + 3 * HOUR), baseline.baseline(3 * DAY + 15 * HOUR)
    assert night is not None and day is not None
    assert (night.median, day.median) == (55.0, 80.0)
    assert baseline.baseline(3 * DAY + 9 * HOUR) is None


def test_buckets_follow_local_time() -> None:
    # At UTC+2, 23:00 UTC is 01:00 the next local day: the night bucket.
    baseline = RollingBaseline(PARAMS, utc_offset_s=2 * HOUR)
    learn(baseline, range(3), 23, [55.0] * 20)
    learned = baseline.baseline(3 * DAY + 23 * HOUR)
    assert learned is not None and learned.median == 55.0
    assert RollingBaseline(PARAMS).baseline(3 * DAY + 23 * HOUR) is None


def test_days_older_than_the_history_are_forgotten() -> None:
    baseline = RollingBaseline(PARAMS)
    learn(baseline, range(30), 1, [50.0] * 20)
    learn(baseline, range(30, 40), 1, [70.0] * 20)
    learned = baseline.baseline(40 * DAY + HOUR)
    assert learned is not None and learned.median == 70.0
    assert len(baseline.to_dict()["days"]) <= PARAMS.history_days + 1


def test_memory_is_bounded_by_days_buckets_and_bins() -> None:
    baseline = RollingBaseline(PARAMS)
    for second in range(0, int(20 * DAY), 7):
        baseline.add(second, 40.0 + second % 60)
    stored = baseline.to_dict()["days"]
    bins = sum(len(histogram) for histograms in stored.values() for histogram in histograms)
    assert bins <= (PARAMS.history_days + 1) * 6 * 60


def test_implausible_values_are_not_learned() -> None:
    baseline = RollingBaseline(PARAMS)
    learn(baseline, range(3), 1, [60.0] * 20)
    learn(baseline, range(3), 1, [0.0, 255.0, float("nan")] * 20)
    learned = baseline.baseline(3 * DAY + HOUR)
    assert learned is not None and learned.count == 60


def test_late_data_for_a_past_day_is_taken_into_account() -> None:
    baseline = RollingBaseline(PARAMS)
    learn(baseline, range(3), 1, [60.0] * 20)
    assert baseline.baseline(3 * DAY + HOUR) is not None
    learn(baseline, range(2, 3), 1, [90.0] * 100)
    learned = baseline.baseline(3 * DAY + HOUR)
    assert learned is not None and learned.median == 90.0


def test_state_survives_a_restart_through_json() -> None:
    baseline = RollingBaseline(PARAMS)
    learn(baseline, range(4), 1, [58.0, 61.0, 66.0] * 10)
    restored = RollingBaseline.from_dict(json.loads(json.dumps(baseline.to_dict())), PARAMS)
    at = 4 * DAY + HOUR
    assert restored.baseline(at) == baseline.baseline(at) is not None
    assert restored.to_dict() == baseline.to_dict()


def test_state_learned_with_other_params_is_refused() -> None:
    baseline = RollingBaseline(PARAMS)
    learn(baseline, range(3), 1, [60.0] * 20)
    other = BaselineParams(0.5, PARAMS.plausible, bucket_hours=4)
    with pytest.raises(ValueError, match="bucket_hours"):
        RollingBaseline.from_dict(baseline.to_dict(), other)


@pytest.mark.parametrize("data", [
    {},
    {"format": 1, "bucket_hours": 4, "resolution": 1.0},
    {"format": 1, "bucket_hours": 4, "resolution": 1.0, "days": {"3": [{}]}},
    {"format": 1, "bucket_hours": 4, "resolution": 1.0, "days": {"x": [{}] * 6}},
    {"format": 1, "bucket_hours": 4, "resolution": 1.0, "days": {"3": [[1]] * 6}},
])
def test_malformed_state_is_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RollingBaseline.from_dict(data, PARAMS)


def test_bucket_hours_must_divide_a_day() -> None:
    with pytest.raises(ValueError):
        BaselineParams(1.0, (0.0, 1.0), bucket_hours=5)


def test_store_keeps_patients_and_vitals_apart_and_round_trips() -> None:
    store = BaselineStore({"heart_rate": PARAMS, "temperature": PARAMS})
    learn(store.baseline("p-1", "heart_rate"), range(3), 1, [60.0] * 20)
    learn(store.baseline("p-2", "heart_rate"), range(3), 1, [90.0] * 20)
    at = 3 * DAY + HOUR
    restored = BaselineStore.from_dict(json.loads(json.dumps(store.to_dict())),
                                       {"heart_rate": PARAMS, "temperature": PARAMS})
    medians = [restored.baseline(patient, "heart_rate").baseline(at)
               for patient in ("p-1", "p-2")]
    assert [m.median if m else None for m in medians] == [60.0, 90.0]
    assert restored.baseline("p-1", "temperature").baseline(at) is None


def test_store_refuses_unknown_vitals_and_garbage() -> None:
    with pytest.raises(ValueError):
        BaselineStore.from_dict({"format": 1, "patients": {"p-1": {"mood": {}}}})
    with pytest.raises(ValueError):
        BaselineStore.from_dict({"format": 1, "patients": {"p-1": []}})
    with pytest.raises(ValueError):
        BaselineStore.from_dict({"patients": {}})


def test_default_params_cover_every_vital() -> None:
    assert set(DEFAULT_PARAMS) == set(typing.get_args(Vital))
