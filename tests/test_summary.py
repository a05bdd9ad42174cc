import math

import pytest

from edge.signals.heart_rate import HeartRateSample, HeartRateSummarizer, rmssd


def sample(at: float, bpm: int, rr_ms: tuple[float, ...] = (), in_contact: bool = True) -> (
        HeartRateSample):
    return HeartRateSample("strap-01", at, bpm, rr_ms, in_contact)


def test_rmssd_of_known_series() -> None:
    # Successive differences 100, -50, 50: sqrt((10000 + 2500 + 2500) / 3).
    assert rmssd([800, 900, 850, 900]) == pytest.approx(math.sqrt(5000))
    assert rmssd([800]) is None


def test_period_summary_has_stats_count_and_coverage() -> None:
    summarizer = HeartRateSummarizer("strap-01", period_s=10, expected_rate_hz=1)
    closed = []
    for second in range(10):
        closed += summarizer.add(sample(1000 + second, 60 + second, (1000.0, 1010.0)))
    closed += summarizer.add(sample(1010, 80))
    (summary,) = closed
    assert (summary.start, summary.end) == (1000, 1010)
    assert summary.samples == 10
    assert summary.coverage == 1.0
    assert (summary.min_bpm, summary.max_bpm) == (60, 69)
    assert summary.mean_bpm == pytest.approx(64.5)
    assert summary.rr_count == 20
    # Alternating 1000/1010 ms: every successive difference is 10 ms.
    assert summary.rmssd_ms == pytest.approx(10.0)


def test_periods_are_aligned_and_partial_coverage_is_reported() -> None:
    summarizer = HeartRateSummarizer("strap-01", period_s=10, expected_rate_hz=1)
    summarizer.add(sample(1007, 70))
    summarizer.add(sample(1008, 70))
    (summary,) = summarizer.close_until(1010)
    assert summary.start == 1000
    assert summary.coverage == pytest.approx(0.2)


def test_samples_without_skin_contact_are_left_out() -> None:
    summarizer = HeartRateSummarizer("strap-01", period_s=10, expected_rate_hz=1)
    summarizer.add(sample(1000, 70))
    summarizer.add(sample(1001, 0, in_contact=False))
    (summary,) = summarizer.close_until(1010)
    assert summary.samples == 1
    assert summary.min_bpm == 70


def test_silent_periods_get_empty_summaries_once_a_device_was_seen() -> None:
    summarizer = HeartRateSummarizer("strap-01", period_s=10, expected_rate_hz=1)
    assert summarizer.close_until(5000) == []
    summarizer.add(sample(1000, 70))
    closed = summarizer.close_until(1030)
    assert [s.samples for s in closed] == [1, 0, 0]
    assert closed[1].mean_bpm is None and closed[1].rmssd_ms is None
    assert closed[1].coverage == 0.0
