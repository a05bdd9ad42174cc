"""Streaming ECG analysis: samples in; beats labelled normal or ventricular, signal quality and
atrial fibrillation episodes out, each as soon as it is confirmed. Pure, no I/O.

    samples ─▶ RPeakDetector ─▶ R peaks ─┐
           └▶ 5 s quality windows ───────┼─▶ beat features ─▶ PVC classifier ─▶ Beat
                                         │
    usable beats ─▶ RR ─▶ AfDetector (RR features, + ECG morphology for af_ecg) ─▶ AfEvent

A bounded buffer of the signal is kept: long enough for an AF window of up to 60 beats and for
the beat template of the last 64 beats, never the whole recording. A beat is labelled once the
signal reaches the look-ahead its features need; a beat in an unusable window gets no label and
no say in the rhythm, so noise cannot raise an AF alarm.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edge.detect.af import AfDetector, AfEvent, AfSettings, AfWindow, WindowClassifier
from edge.detect.ectopy import DEFAULT_THRESHOLD, PvcBurden, classify_beats
from edge.detect.quality import QualitySettings, WindowQuality, window_quality
from edge.signals.af_morphology import morphology_between
from edge.signals.beats import FAMILY_BEATS, LOOKAHEAD_MS, beat_features
from edge.signals.rpeaks import RPeakDetector

FloatArray = npt.NDArray[np.float64]
BeatClassifier = Callable[[npt.NDArray[np.float32]], npt.ArrayLike]

# Signal kept behind the oldest beat still needed: an AF window of 60 beats at 40 bpm, with
# margin for the morphology features around it.
_HISTORY_S = 100.0
# Beats labelled together: the features of a batch share one pass over the buffer.
_LABEL_BATCH = 8


@dataclass(frozen=True, slots=True)
class Beat:
    sample: int
    at_s: float
    # None when the beat lies in signal too poor to tell.
    is_pvc: bool | None


@dataclass(frozen=True, slots=True)
class RhythmModels:
    """The classifiers in use; None where the rule-based detector stands in. `af_uses_ecg`
    says whether the AF model takes ECG morphology features after the RR ones (af_ecg)."""

    af: WindowClassifier | None = None
    af_settings: AfSettings = field(default_factory=AfSettings)
    af_uses_ecg: bool = False
    pvc: BeatClassifier | None = None
    pvc_threshold: float = DEFAULT_THRESHOLD


@dataclass(slots=True)
class RhythmUpdate:
    beats: list[Beat] = field(default_factory=list)
    quality: list[WindowQuality] = field(default_factory=list)
    af_windows: list[AfWindow] = field(default_factory=list)
    af_events: list[AfEvent] = field(default_factory=list)

    def extend(self, other: "RhythmUpdate") -> None:
        self.beats += other.beats
        self.quality += other.quality
        self.af_windows += other.af_windows
        self.af_events += other.af_events


class EcgRhythm:
    """One device's ECG at `fs` Hz. After a gap in the samples, `restart` begins a new stream
    while the AF detector carries on: the gap restarts its analysis without ending an
    episode."""

    def __init__(self, fs: float, start_s: float, models: RhythmModels,
                 quality: QualitySettings | None = None) -> None:
        self._fs = fs
        self._models = models
        self._quality_settings = quality or QualitySettings()
        self.af = af_detector(models, self._morphology if models.af_uses_ecg else None)
        self.restart(start_s)

    def restart(self, start_s: float) -> None:
        """Begin a new stream whose first sample is taken at `start_s`."""
        self._start_s = start_s
        self._rpeaks = RPeakDetector(self._fs)
        self._signal = np.zeros(0)
        self._offset = 0  # absolute index of self._signal[0]
        self._peaks: list[int] = []
        self._labelled = 0  # peaks before this index have their Beat
        self._quality: list[WindowQuality] = []
        self._quality_until = 0  # absolute sample where the next quality window starts
        self._previous_usable: int | None = None

    def push(self, samples_mv: npt.ArrayLike) -> RhythmUpdate:
        chunk = np.asarray(samples_mv, dtype=np.float64)
        self._signal = np.concatenate((self._signal, chunk))
        self._peaks += self._rpeaks.push(chunk)
        return self._advance(final=False)

    def flush(self) -> RhythmUpdate:
        """Everything that can still be said once the stream has ended."""
        self._peaks += self._rpeaks.flush()
        return self._advance(final=True)

    @property
    def buffered_s(self) -> float:
        """Seconds of signal held in memory."""
        return self._signal.size / self._fs

    @property
    def end(self) -> int:
        """Absolute index one past the last sample pushed."""
        return self._offset + self._signal.size

    def _advance(self, final: bool) -> RhythmUpdate:
        update = RhythmUpdate(quality=self._assess_quality(final))
        ready = self._ready_beats(final)
        if ready > self._labelled and (final or ready - self._labelled >= _LABEL_BATCH):
            beats = self._label(ready)
            update.beats = beats
            for beat in beats:
                update.af_events += self._to_af(beat)
                window = self.af.last_window
                if window is not None and window.end_s == beat.at_s:
                    update.af_windows.append(window)
        self._forget_old_signal()
        return update

    def _assess_quality(self, final: bool) -> list[WindowQuality]:
        length = round(self._quality_settings.window_s * self._fs)
        done = []
        while self._window_complete(self._quality_until + length) or (
                final and self.end - self._quality_until >= length / 2):
            start = self._quality_until
            stop = min(start + length, self.end)
            peaks = np.array([p for p in self._peaks if start <= p < stop], dtype=np.int64)
            window = window_quality(self._slice(start, stop), self._fs, peaks - start,
                                    self._time(start), self._quality_settings)
            done.append(window)
            self._quality.append(window)
            self._quality_until = stop
        return done

    def _window_complete(self, stop: int) -> bool:
        """Whether every R peak before `stop` is known: the detector reports a peak only after
        its look-ahead, so a window waits for a later peak, or for as long as no heart goes
        without a beat."""
        if self.end < stop:
            return False
        later_peak = bool(self._peaks) and self._peaks[-1] >= stop
        longest_pause = round(self._quality_settings.max_rr_s * self._fs)
        return later_peak or self.end >= stop + longest_pause

    def _ready_beats(self, final: bool) -> int:
        """How many peaks, from the first, have all their features need: the next peak, the
        signal past it, and a finished quality window."""
        if final:
            return len(self._peaks)
        lookahead = round(LOOKAHEAD_MS * self._fs / 1000)
        ready = self._labelled
        while (ready + 1 < len(self._peaks)
               and self._peaks[ready + 1] + lookahead <= self.end
               and self._peaks[ready] < self._quality_until):
            ready += 1
        return ready

    def _label(self, ready: int) -> list[Beat]:
        first = max(0, self._labelled - FAMILY_BEATS)
        context = np.array(self._peaks[first:min(ready + 1, len(self._peaks))], dtype=np.int64)
        since = max(int(context[0]) - round(self._fs), self._offset)
        features = beat_features(self._slice(since, self.end), self._fs, context - since,
                                 first=self._labelled - first)
        calls = classify_beats(features[:ready - self._labelled], self._models.pvc,
                               self._models.pvc_threshold)
        beats = []
        for index, is_pvc in zip(range(self._labelled, ready), calls, strict=True):
            sample = self._peaks[index]
            usable = self._usable(sample)
            beats.append(Beat(sample, self._time(sample), bool(is_pvc) if usable else None))
        self._labelled = ready
        return beats

    def _usable(self, sample: int) -> bool:
        at = self._time(sample)
        return any(w.usable for w in self._quality if w.start_s <= at < w.end_s)

    def _to_af(self, beat: Beat) -> list[AfEvent]:
        previous, self._previous_usable = self._previous_usable, None
        if beat.is_pvc is None:
            return []
        self._previous_usable = beat.sample
        if previous is None:
            return []
        return self.af.push(beat.at_s, (beat.sample - previous) / self._fs)

    def _morphology(self, start_s: float, end_s: float) -> FloatArray:
        first, last = self._sample(start_s), self._sample(end_s)
        peaks = np.array([p for p in self._peaks if first - 1 <= p <= last + 1], dtype=np.int64)
        return morphology_between(self._signal, self._fs, peaks - self._offset,
                                  first - self._offset, last - self._offset)

    def _forget_old_signal(self) -> None:
        """Drop the signal, peaks and quality windows that no beat to come can need."""
        first_needed = max(self._labelled - FAMILY_BEATS - 1, 0)
        keep_from = min(self.end - round(_HISTORY_S * self._fs), self._quality_until)
        if first_needed < len(self._peaks):
            keep_from = min(keep_from, self._peaks[first_needed] - round(self._fs))
        if keep_from <= self._offset:
            return
        self._signal = self._signal[keep_from - self._offset:]
        self._offset = keep_from
        dropped = sum(1 for peak in self._peaks[:first_needed] if peak < keep_from)
        self._peaks = self._peaks[dropped:]
        self._labelled -= dropped
        self._quality = [w for w in self._quality if w.end_s > self._time(keep_from)]

    def _slice(self, start: int, stop: int) -> FloatArray:
        return self._signal[start - self._offset:stop - self._offset]

    def _time(self, sample: int) -> float:
        return self._start_s + sample / self._fs

    def _sample(self, at_s: float) -> int:
        return round((at_s - self._start_s) * self._fs)


def af_detector(models: RhythmModels,
                morphology: Callable[[float, float], FloatArray] | None = None) -> AfDetector:
    return AfDetector(models.af, models.af_settings, morphology)


@dataclass(slots=True)
class EctopyCount:
    """Labelled beats and PVCs since the last `take`."""

    beats: int = 0
    pvcs: int = 0

    def add(self, beats: list[Beat]) -> None:
        labelled = [beat.is_pvc for beat in beats if beat.is_pvc is not None]
        self.beats += len(labelled)
        self.pvcs += sum(labelled)

    def take(self, start: float, end: float) -> PvcBurden | None:
        """The count for a period that ends now, or None when no beat was labelled."""
        if not self.beats:
            return None
        taken = PvcBurden(start, end, self.beats, self.pvcs)
        self.beats = self.pvcs = 0
        return taken
