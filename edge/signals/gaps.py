"""Missing samples in a stream of frames stamped by the device's own clock. Pure."""

import statistics
from collections import deque
from dataclasses import dataclass

# Periods of the last few whole frames; their median is the sample period. A gap only ever
# lengthens a frame's span, so the median of several frames is not fooled by one gap.
_HISTORY = 9
_MIN_HISTORY = 3
# Slack for a device clock's jitter, in sample periods.
_TOLERANCE_PERIODS = 1.5


@dataclass(frozen=True, slots=True)
class StreamGap:
    device_id: str
    stream: str
    # Device time, ns: the last sample before the gap and the first one after it.
    after_ns: int
    before_ns: int
    missing_samples: int


class FrameGapDetector:
    """Each frame carries the device time of its last sample and how many samples it holds;
    consecutive frames must join up to within a sample period."""

    def __init__(self, device_id: str, stream: str) -> None:
        self._device_id = device_id
        self._stream = stream
        self._last_ns: int | None = None
        self._periods: deque[float] = deque(maxlen=_HISTORY)

    def add(self, last_sample_ns: int, samples: int) -> StreamGap | None:
        previous, self._last_ns = self._last_ns, last_sample_ns
        if previous is None or samples <= 0:
            return None
        span = last_sample_ns - previous
        if span <= 0:
            # The device clock went back (a reset): start learning the period again.
            self._periods.clear()
            return None
        if len(self._periods) >= _MIN_HISTORY:
            period = statistics.median(self._periods)
            if span > (samples + _TOLERANCE_PERIODS) * period:
                missing = round(span / period) - samples
                return StreamGap(self._device_id, self._stream, previous,
                                 last_sample_ns - round((samples - 1) * period), missing)
        self._periods.append(span / samples)
        return None
