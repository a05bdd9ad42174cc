"""A real recording as a virtual ECG device's signal: a WFDB record streamed at its own rate,
from its start, over and over."""

from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge.records.wfdb import read_record
from edge.signals.rpeaks import detect_r_peaks


class RecordingReplay:
    """The first channel of a WFDB record, repeated end to end; its beats come from the
    gateway's R-peak detector, so that a strap's RR intervals agree with the waveform."""

    def __init__(self, header: Path) -> None:
        record = read_record(header)
        self.name = record.name
        self.fs = record.fs
        self._signal_mv = np.asarray(record.signal_mv, dtype=np.float64)
        if self._signal_mv.ndim > 1:
            self._signal_mv = self._signal_mv[:, 0]
        self._signal_mv = np.nan_to_num(self._signal_mv)
        self.duration_s = len(self._signal_mv) / self.fs
        self._beats_s = detect_r_peaks(self._signal_mv, self.fs) / self.fs

    def samples_mv(self, first: int, count: int) -> npt.NDArray[np.float64]:
        return self._signal_mv[(first + np.arange(count)) % len(self._signal_mv)]

    def beats_between(self, start: float, end: float) -> list[float]:
        """Beat times with start <= t < end, in run time (the record repeats)."""
        first_pass = int(max(0.0, start) // self.duration_s)
        beats: list[float] = []
        for repeat in range(first_pass, int(end // self.duration_s) + 1):
            offset = repeat * self.duration_s
            beats += [float(b + offset) for b in self._beats_s if start <= b + offset < end]
        return beats
