"""Beat times for RR intervals that arrive without them. Pure."""

from collections.abc import Sequence
from itertools import accumulate

# Beats counted on from the previous packet may drift this far from the arrival time before
# the clock is set again from the arrival time.
_MAX_DRIFT_S = 2.0


class BeatClock:
    """A heart-rate strap reports RR intervals but not when its beats happened. The beats of a
    packet continue the previous packet's when they add up to its arrival time; otherwise (the
    first packet, or after lost packets) its last beat is placed at its arrival time."""

    def __init__(self) -> None:
        self._last_beat_s: float | None = None

    def beats(self, received_at: float, rr_s: Sequence[float]) -> list[tuple[float, float]]:
        """(beat time, RR interval ending at it) for each interval, oldest first."""
        if not rr_s:
            return []
        start = self._last_beat_s
        if start is None or abs(start + sum(rr_s) - received_at) > _MAX_DRIFT_S:
            start = received_at - sum(rr_s)
        times = [start + elapsed for elapsed in accumulate(rr_s)]
        self._last_beat_s = times[-1]
        return list(zip(times, rr_s, strict=True))
