"""Heart-rate samples and their per-period summaries."""

import itertools
import math
from dataclasses import dataclass, field

from edge.gatt.heart_rate_measurement import HeartRateMeasurement


@dataclass(frozen=True, slots=True)
class HeartRateSample:
    device_id: str
    at: float
    bpm: int
    rr_ms: tuple[float, ...]
    # False when the strap reports it has lost skin contact; its heart rate is then unreliable.
    in_contact: bool


def sample_from_measurement(
    device_id: str, at: float, measurement: HeartRateMeasurement
) -> HeartRateSample:
    return HeartRateSample(
        device_id=device_id,
        at=at,
        bpm=measurement.heart_rate_bpm,
        rr_ms=measurement.rr_intervals_ms,
        in_contact=measurement.sensor_contact is not False,
    )


@dataclass(frozen=True, slots=True)
class HeartRateSummary:
    device_id: str
    start: float
    end: float
    samples: int
    # Share of the period covered by samples in skin contact, from 0 to 1.
    coverage: float
    mean_bpm: float | None
    min_bpm: int | None
    max_bpm: int | None
    rr_count: int
    rmssd_ms: float | None


def rmssd(rr_ms: list[float]) -> float | None:
    """Root mean square of successive RR differences; None with fewer than two intervals."""
    if len(rr_ms) < 2:
        return None
    squares = [(b - a) ** 2 for a, b in itertools.pairwise(rr_ms)]
    return math.sqrt(sum(squares) / len(squares))


@dataclass(slots=True)
class _Window:
    start: float
    bpm: list[int] = field(default_factory=list)
    rr_ms: list[float] = field(default_factory=list)


class HeartRateSummarizer:
    """Summarises one device's samples over fixed periods aligned to the epoch.

    Once a device has been seen, every period gets a summary, an empty one included: a care
    team must be able to tell "no data" from "no message".
    """

    def __init__(self, device_id: str, period_s: float, expected_rate_hz: float) -> None:
        self._device_id = device_id
        self._period_s = period_s
        self._expected_samples = period_s * expected_rate_hz
        self._window: _Window | None = None

    def add(self, sample: HeartRateSample) -> list[HeartRateSummary]:
        done = self.close_until(sample.at)
        if self._window is None:
            self._window = _Window(self._period_start(sample.at))
        if sample.in_contact:
            self._window.bpm.append(sample.bpm)
            self._window.rr_ms.extend(sample.rr_ms)
        return done

    def close_until(self, now: float) -> list[HeartRateSummary]:
        """Summaries of every period that ended at or before `now`."""
        done: list[HeartRateSummary] = []
        while self._window is not None and self._window.start + self._period_s <= now:
            done.append(self._summarize(self._window))
            self._window = _Window(self._window.start + self._period_s)
        return done

    def _period_start(self, at: float) -> float:
        return math.floor(at / self._period_s) * self._period_s

    def _summarize(self, window: _Window) -> HeartRateSummary:
        bpm = window.bpm
        return HeartRateSummary(
            device_id=self._device_id,
            start=window.start,
            end=window.start + self._period_s,
            samples=len(bpm),
            coverage=min(1.0, len(bpm) / self._expected_samples),
            mean_bpm=sum(bpm) / len(bpm) if bpm else None,
            min_bpm=min(bpm, default=None),
            max_bpm=max(bpm, default=None),
            rr_count=len(window.rr_ms),
            rmssd_ms=rmssd(window.rr_ms),
        )
