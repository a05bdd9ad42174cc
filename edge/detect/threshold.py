"""A value beyond a limit for long enough, with hysteresis on the way back.

`LimitWatch` is the state machine for one limit of any vital; `ThresholdDetector` applies two
of them to heart rate, against fixed high and low limits.
"""

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Literal

Phase = Literal["started", "ended"]
# Who set a limit: the clinician in the config, the patient's own data, or the population
# default.
LimitSource = Literal["clinician", "baseline", "default"]


@dataclass(frozen=True, slots=True)
class Limit:
    value: float
    source: LimitSource = "clinician"
    # The patient's baseline when the limit was chosen, if one was known.
    baseline: float | None = None


@dataclass(frozen=True, slots=True)
class Confirmation:
    """The evidence a crossing, or a recovery, needs before it counts: at least `min_samples`
    consecutive samples spanning `min_duration_s`, none further than `max_gap_s` from the one
    before. A gap restarts the count, so that two bad samples an hour apart are not evidence."""

    min_duration_s: float
    min_samples: int = 2
    max_gap_s: float = math.inf


@dataclass(frozen=True, slots=True)
class Crossing:
    phase: Phase
    # When the value first went beyond the limit.
    onset_at: float
    # For a started crossing, when it was confirmed; for an ended one, when the value came
    # back inside the limit, less the hysteresis.
    at: float
    # The limit in force when the episode began; it does not move during the episode.
    limit: Limit
    # The most extreme value of the episode so far.
    extreme: float


class _State(Enum):
    NORMAL = "normal"
    PENDING = "pending"
    ACTIVE = "active"
    RECOVERING = "recovering"


class LimitWatch:
    """One limit, above or below: needs confirmed evidence to change its mind either way."""

    def __init__(self, above: bool, hysteresis: float, confirmation: Confirmation,
                 inclusive: bool = False) -> None:
        self._beyond: Callable[[float, float], bool]
        if above:
            self._beyond = operator.ge if inclusive else operator.gt
        else:
            self._beyond = operator.le if inclusive else operator.lt
        self._hysteresis = -hysteresis if above else hysteresis
        self._confirmation = confirmation
        self._state = _State.NORMAL
        self._limit = Limit(math.nan)
        self._onset = 0.0
        self._extreme = 0.0
        # The current run of evidence: when it began, how many samples, the latest one.
        self._since = 0.0
        self._samples = 0
        self._last_at = -math.inf

    @property
    def idle(self) -> bool:
        """True when no episode is starting, going on or ending."""
        return self._state is _State.NORMAL

    def update(self, at: float, value: float, limit: Limit | None) -> Crossing | None:
        """`limit` applies while idle; an episode keeps the one it began with. With no limit
        (None) an idle watch ignores the sample."""
        if self._state is _State.NORMAL:
            if limit is None:
                return None
            self._limit = limit
        continuous = at - self._last_at <= self._confirmation.max_gap_s
        self._last_at = at
        beyond = self._beyond(value, self._limit.value)
        if self._state is not _State.NORMAL and self._beyond(value, self._extreme):
            self._extreme = value
        match self._state:
            case _State.NORMAL if beyond:
                self._state, self._onset, self._extreme = _State.PENDING, at, value
                return self._gather(at, continuous=False, phase="started")
            case _State.PENDING if not beyond:
                self._state = _State.NORMAL
            case _State.PENDING:
                if not continuous:
                    self._onset, self._extreme = at, value
                return self._gather(at, continuous, phase="started")
            case _State.ACTIVE if self._recovered(value):
                self._state = _State.RECOVERING
                return self._gather(at, continuous=False, phase="ended")
            case _State.RECOVERING if not self._recovered(value):
                self._state = _State.ACTIVE
            case _State.RECOVERING:
                return self._gather(at, continuous, phase="ended")
        return None

    def _recovered(self, value: float) -> bool:
        return not self._beyond(value, self._limit.value + self._hysteresis)

    def _gather(self, at: float, continuous: bool, phase: Phase) -> Crossing | None:
        """Counts one more sample of evidence; the crossing, once confirmed."""
        if continuous:
            self._samples += 1
        else:
            self._since, self._samples = at, 1
        if (self._samples < self._confirmation.min_samples
                or at - self._since < self._confirmation.min_duration_s):
            return None
        if phase == "started":
            self._state = _State.ACTIVE
            return Crossing(phase, self._onset, at, self._limit, self._extreme)
        self._state = _State.NORMAL
        return Crossing(phase, self._onset, self._since, self._limit, self._extreme)
