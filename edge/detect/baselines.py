"""Personal baselines: each patient's usual value of each vital at each time of day.

Values are counted in a histogram per day and time-of-day bucket, so memory is bounded by the
days kept, the buckets and the histogram bins, however many samples arrive, and learning from
every sample costs one dictionary update. A baseline is the median and the median absolute
deviation (MAD) of one bucket over the last `history_days` complete days: the current day is
left out, so that today's illness cannot talk the baseline into accepting it, and so that a
baseline stays the same all day.

The state is plain data (`to_dict`/`from_dict`), for the gateway to persist across restarts.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Vital = Literal["heart_rate", "spo2", "temperature", "systolic_pressure", "diastolic_pressure"]

_FORMAT = 1
_DAY_S = 86_400
# MAD times this estimates the standard deviation of normally distributed data.
_MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True, slots=True)
class BaselineParams:
    # Histogram bin width, in the vital's unit: the resolution of the median and the MAD.
    resolution: float
    # Values outside this range are never learned: they are artefacts, not physiology.
    plausible: tuple[float, float]
    # Length of a time-of-day bucket; must divide 24.
    bucket_hours: int = 4
    history_days: int = 14
    # Before it has this much data in a bucket, a baseline has no opinion.
    min_days: int = 3
    min_count: int = 30

    def __post_init__(self) -> None:
        if self.bucket_hours < 1 or 24 % self.bucket_hours:
            raise ValueError(f"bucket_hours must divide 24, got {self.bucket_hours}")


DEFAULT_PARAMS: Mapping[Vital, BaselineParams] = {
    # Continuous vitals, about one sample a second: ten minutes of data per bucket and day.
    "heart_rate": BaselineParams(1.0, (25.0, 250.0), min_count=600),
    "spo2": BaselineParams(1.0, (50.0, 100.0), min_count=600),
    # Spot readings, a few a day. Body temperature follows a daily rhythm of about 0.5 °C;
    # blood pressure is usually taken morning and evening.
    "temperature": BaselineParams(0.05, (30.0, 43.0), bucket_hours=6, min_count=3),
    "systolic_pressure": BaselineParams(1.0, (50.0, 260.0), bucket_hours=12, min_count=3),
    "diastolic_pressure": BaselineParams(1.0, (25.0, 180.0), bucket_hours=12, min_count=3),
}


@dataclass(frozen=True, slots=True)
class Baseline:
    median: float
    mad: float
    # Values and distinct days the baseline was learned from.
    count: int
    days: int

    @property
    def sigma(self) -> float:
        """The MAD scaled to estimate a standard deviation."""
        return _MAD_TO_SIGMA * self.mad


def weighted_median(items: list[tuple[float, int]]) -> float:
    """Median of values given with their counts, sorted by value; between two middle values,
    their midpoint."""
    total = sum(count for _, count in items)
    running = 0
    for index, (value, count) in enumerate(items):
        running += count
        if 2 * running > total:
            return value
        if 2 * running == total:
            return (value + items[index + 1][0]) / 2
    raise ValueError("median of no values")


# Counts per histogram bin, the bin being round(value / resolution).
_Histogram = dict[int, int]


class RollingBaseline:
    """One patient's baseline of one vital, per time-of-day bucket. `utc_offset_s` places
    the patient's day: buckets follow local time."""

    def __init__(self, params: BaselineParams, utc_offset_s: float = 0.0) -> None:
        self._params = params
        self._utc_offset_s = utc_offset_s
        self._buckets = 24 // params.bucket_hours
        self._days: dict[int, list[_Histogram]] = {}
        self._cache_day: int | None = None
        self._cache: dict[int, Baseline | None] = {}

    def add(self, at: float, value: float) -> None:
        low, high = self._params.plausible
        if not low <= value <= high:
            return
        day, bucket = self._slot(at)
        oldest_day = max(self._days, default=day) - self._params.history_days
        if day < oldest_day:
            return
        histogram = self._days.setdefault(day, [{} for _ in range(self._buckets)])[bucket]
        key = round(value / self._params.resolution)
        histogram[key] = histogram.get(key, 0) + 1
        self._forget_before(max(oldest_day, day - self._params.history_days))
        if self._cache_day is not None and day < self._cache_day:
            self._cache.clear()

    def baseline(self, at: float) -> Baseline | None:
        """The baseline for `at`'s time of day, from the days before `at`'s; None until
        there is enough data."""
        day, bucket = self._slot(at)
        if day != self._cache_day:
            self._cache_day, self._cache = day, {}
        if bucket not in self._cache:
            self._cache[bucket] = self._compute(day, bucket)
        return self._cache[bucket]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "bucket_hours": self._params.bucket_hours,
            "resolution": self._params.resolution,
            "days": {str(day): [{str(key): count for key, count in histogram.items()}
                                for histogram in histograms]
                     for day, histograms in self._days.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], params: BaselineParams,
                  utc_offset_s: float = 0.0) -> "RollingBaseline":
        """Raises ValueError when `data` is malformed or was learned with other params."""
        learned_with = (data.get("format"), data.get("bucket_hours"), data.get("resolution"))
        if learned_with != (_FORMAT, params.bucket_hours, params.resolution):
            raise ValueError(f"baseline learned with (format, bucket_hours, resolution) "
                             f"{learned_with}, expected "
                             f"{(_FORMAT, params.bucket_hours, params.resolution)}")
        baseline = cls(params, utc_offset_s)
        try:
            for day, histograms in data["days"].items():
                if len(histograms) != baseline._buckets:
                    raise ValueError(f"day {day}: {len(histograms)} buckets")
                baseline._days[int(day)] = [{int(key): int(count) for key, count in h.items()}
                                            for h in histograms]
        except (AttributeError, KeyError, TypeError) as error:
            raise ValueError(f"malformed baseline: {error!r}") from None
        if baseline._days:
            baseline._forget_before(max(baseline._days) - params.history_days)
        return baseline

    def _slot(self, at: float) -> tuple[int, int]:
        local = at + self._utc_offset_s
        day = math.floor(local / _DAY_S)
        return day, int((local - day * _DAY_S) // (self._params.bucket_hours * 3600))

    def _forget_before(self, oldest_day: int) -> None:
        for day in [day for day in self._days if day < oldest_day]:
            del self._days[day]

    def _compute(self, day: int, bucket: int) -> Baseline | None:
        counts: _Histogram = {}
        days = 0
        for past in range(day - self._params.history_days, day):
            histogram = self._days[past][bucket] if past in self._days else {}
            days += bool(histogram)
            for key, count in histogram.items():
                counts[key] = counts.get(key, 0) + count
        total = sum(counts.values())
        if days < self._params.min_days or total < self._params.min_count:
            return None
        resolution = self._params.resolution
        values = sorted((key * resolution, count) for key, count in counts.items())
        median = weighted_median(values)
        deviations = sorted((abs(value - median), count) for value, count in values)
        return Baseline(median, weighted_median(deviations), total, days)


class BaselineStore:
    """Every patient's rolling baselines, one per vital, created as they are first used."""

    def __init__(self, params: Mapping[Vital, BaselineParams] = DEFAULT_PARAMS,
                 utc_offset_s: float = 0.0) -> None:
        self._params = params
        self._utc_offset_s = utc_offset_s
        self._baselines: dict[tuple[str, Vital], RollingBaseline] = {}

    def baseline(self, patient: str, vital: Vital) -> RollingBaseline:
        key = (patient, vital)
        if key not in self._baselines:
            self._baselines[key] = RollingBaseline(self._params[vital], self._utc_offset_s)
        return self._baselines[key]

    def to_dict(self) -> dict[str, Any]:
        patients: dict[str, dict[str, Any]] = {}
        for (patient, vital), baseline in self._baselines.items():
            patients.setdefault(patient, {})[vital] = baseline.to_dict()
        return {"format": _FORMAT, "patients": patients}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any],
                  params: Mapping[Vital, BaselineParams] = DEFAULT_PARAMS,
                  utc_offset_s: float = 0.0) -> "BaselineStore":
        """Raises ValueError when `data` is malformed or was learned with other params."""
        if data.get("format") != _FORMAT or not isinstance(data.get("patients"), dict):
            raise ValueError("not a baseline store")
        store = cls(params, utc_offset_s)
        try:
            for patient, vitals in data["patients"].items():
                for vital, learned in vitals.items():
                    if vital not in params:
                        raise ValueError(f"patient {patient}: unknown vital {vital!r}")
                    store._baselines[(patient, vital)] = RollingBaseline.from_dict(
                        learned, params[vital], utc_offset_s)
        except AttributeError as error:
            raise ValueError(f"malformed baseline store: {error!r}") from None
        return store
