"""ECG frames, each stamped by the device with the time of its last sample, made into continuous
streams of millivolts. Pure.

The sampling rate is measured from the device's own time stamps (a Polar H10 asked for 130 Hz
samples at about 130.2 Hz by its clock), so no device model needs to be known here. Frames that
do not join up (lost frames, a device clock reset) begin a new stream.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_MIN_FS = 50.0
_MAX_FS = 2000.0
# Slack for the device clock's jitter between frames, in sample periods.
_JOIN_TOLERANCE_PERIODS = 1.5
_UV_PER_MV = 1000.0


@dataclass(frozen=True, slots=True)
class EcgChunk:
    samples_mv: FloatArray
    fs: float
    # A new stream begins with this chunk, its first sample taken at `start_s`.
    restarted: bool
    start_s: float


@dataclass(frozen=True, slots=True)
class _Frame:
    last_sample_ns: int
    samples_uv: FloatArray
    received_at: float


class EcgFrameStream:
    def __init__(self) -> None:
        self.fs: float | None = None
        self._first: _Frame | None = None
        self._last_sample_ns: int | None = None

    def add(self, last_sample_ns: int, samples_uv: npt.ArrayLike,
            received_at: float) -> list[EcgChunk]:
        frame = _Frame(last_sample_ns, np.asarray(samples_uv, dtype=np.float64), received_at)
        if frame.samples_uv.size == 0:
            return []
        if self.fs is None:
            return self._learn_rate(frame)
        joins = self._joins(frame, self.fs)
        self._last_sample_ns = frame.last_sample_ns
        return [self._chunk(frame, self.fs, restarted=not joins)]

    def _learn_rate(self, frame: _Frame) -> list[EcgChunk]:
        """The first two frames that join up give the rate, and begin the first stream."""
        first, self._first = self._first, frame
        if first is None:
            return []
        span_s = (frame.last_sample_ns - first.last_sample_ns) / 1e9
        fs = frame.samples_uv.size / span_s if span_s > 0 else 0.0
        if not _MIN_FS <= fs <= _MAX_FS:
            return []
        self.fs, self._first, self._last_sample_ns = fs, None, frame.last_sample_ns
        return [self._chunk(first, fs, restarted=True), self._chunk(frame, fs, restarted=False)]

    def _joins(self, frame: _Frame, fs: float) -> bool:
        if self._last_sample_ns is None:
            return False
        span_s = (frame.last_sample_ns - self._last_sample_ns) / 1e9
        return abs(span_s * fs - frame.samples_uv.size) <= _JOIN_TOLERANCE_PERIODS

    @staticmethod
    def _chunk(frame: _Frame, fs: float, restarted: bool) -> EcgChunk:
        start_s = frame.received_at - (frame.samples_uv.size - 1) / fs
        return EcgChunk(frame.samples_uv / _UV_PER_MV, fs, restarted, start_s)
