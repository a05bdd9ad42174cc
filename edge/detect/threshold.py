"""Heart rate above or below a limit for a minimum duration, with hysteresis on the way back."""

import operator
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True, slots=True)
class HeartRateLimits:
    high_bpm: float
    low_bpm: float
    hysteresis_bpm: float
    min_duration_s: float


@dataclass(frozen=True, slots=True)
class ThresholdEvent:
    device_id: str
    # "heart_rate_high" or "heart_rate_low"
    kind: str
    # "started" or "ended"
    phase: str
    # When the condition began; for an ended event, the episode's first crossing.
    onset_at: float
    # For a started event, when it was confirmed (onset plus the minimum duration); for an
    # ended event, when heart rate came back inside the limit.
    at: float
    limit_bpm: float
    # Highest (or lowest) heart rate seen in the episode so far.
    extreme_bpm: float


class _State(Enum):
    NORMAL = "normal"
    PENDING = "pending"
    ACTIVE = "active"
    RECOVERING = "recovering"


class _Side:
    """One limit: a state machine that needs `min_duration_s` of evidence to change its mind."""

    def __init__(
        self,
        kind: str,
        limit: float,
        recovered_below: float,
        beyond: Callable[[float, float], bool],
        min_duration_s: float,
    ) -> None:
        self._kind = kind
        self._limit = limit
        self._recovery_limit = recovered_below
        self._beyond = beyond
        self._min_duration_s = min_duration_s
        self._state = _State.NORMAL
        self._onset = 0.0
        self._since = 0.0
        self._extreme = 0.0

    def update(self, device_id: str, at: float, bpm: float) -> ThresholdEvent | None:
        crossed = self._beyond(bpm, self._limit)
        recovered = not self._beyond(bpm, self._recovery_limit)
        match self._state:
            case _State.NORMAL if crossed:
                self._state, self._onset, self._extreme = _State.PENDING, at, bpm
            case _State.PENDING if not crossed:
                self._state = _State.NORMAL
            case _State.PENDING:
                self._extreme = bpm if self._beyond(bpm, self._extreme) else self._extreme
                if at - self._onset >= self._min_duration_s:
                    self._state = _State.ACTIVE
                    return self._event(device_id, "started", at)
            case _State.ACTIVE if recovered:
                self._state, self._since = _State.RECOVERING, at
            case _State.ACTIVE:
                self._extreme = bpm if self._beyond(bpm, self._extreme) else self._extreme
            case _State.RECOVERING if not recovered:
                self._state = _State.ACTIVE
            case _State.RECOVERING if at - self._since >= self._min_duration_s:
                self._state = _State.NORMAL
                return self._event(device_id, "ended", self._since)
        return None

    def _event(self, device_id: str, phase: str, at: float) -> ThresholdEvent:
        return ThresholdEvent(device_id, self._kind, phase, self._onset, at, self._limit,
                              self._extreme)


class ThresholdDetector:
    """Raises an event when heart rate stays beyond a limit for the minimum duration, and
    another when it has been back inside the limit, less the hysteresis, for as long."""

    def __init__(self, device_id: str, limits: HeartRateLimits) -> None:
        self._device_id = device_id
        self._sides = (
            _Side("heart_rate_high", limits.high_bpm, limits.high_bpm - limits.hysteresis_bpm,
                  operator.gt, limits.min_duration_s),
            _Side("heart_rate_low", limits.low_bpm, limits.low_bpm + limits.hysteresis_bpm,
                  operator.lt, limits.min_duration_s),
        )

    def update(self, at: float, bpm: float) -> list[ThresholdEvent]:
        events = (side.update(self._device_id, at, bpm) for side in self._sides)
        return [event for event in events if event is not None]
