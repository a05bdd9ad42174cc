"""Atrial fibrillation from a stream of RR intervals, with hysteresis into episodes.

Each interval arrives with the time of the beat that ends it. Every `step_beats` beats, the
last `window_beats` intervals become one window: its features (edge.signals.rr_features) go to a
window classifier, a loaded model (edge.inference.Model) or, when there is none, the rule-based
`RuleClassifier`. Where the ECG itself is at hand, `morphology` adds the features of the ECG
during the window (edge.signals.af_morphology), for a model such as af_ecg. `onset_windows` AF
windows in a row start an episode; `offset_windows` non-AF windows in a row end it. An interval
outside a plausible range, or a gap in the beat times, starts the analysis afresh without ending
an episode: missing beats are no evidence either way.
"""

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np
from numpy.typing import NDArray

from edge.signals.rr_features import FEATURE_NAMES, MAX_BEATS, MIN_BEATS, rr_window_features

FloatArray = NDArray[np.float64]

# Intervals outside these limits (240 and 20 beats per minute) are taken for detection errors.
MIN_RR_S: Final = 0.25
MAX_RR_S: Final = 3.0
# Beat times and intervals may disagree by this much before the stream counts as broken.
MAX_TIME_MISMATCH_S: Final = 0.5


class WindowClassifier(Protocol):
    """Raw feature rows in, AF probabilities (batch, 1) out. A row is the window's
    FEATURE_NAMES values, followed by its morphology features when the detector has some."""

    def predict(self, features: FloatArray) -> NDArray[np.floating]: ...


_FEATURE: Final = {name: index for index, name in enumerate(FEATURE_NAMES)}


@dataclass(frozen=True, slots=True)
class RuleClassifier:
    """AF when the rhythm stays irregular after ectopic runs are merged: successive
    differences large for most beats, not only a few, and without the alternation of bigeminy
    that the merge leaves. Thresholds set by hand, not fitted (models/af_rr/MODEL_CARD.md gives
    their figures); answers 0 or 1."""

    min_median_abs_sd: float = 0.05
    min_share_irregular: float = 0.35
    min_nrmssd: float = 0.08
    min_lag2_lag1: float = 0.6

    def predict(self, features: FloatArray) -> FloatArray:
        rows = np.atleast_2d(features)
        irregular = (
            (rows[:, _FEATURE["log_median_abs_sd_norm"]] >= np.log10(self.min_median_abs_sd))
            & (rows[:, _FEATURE["pnn_8pct"]] >= self.min_share_irregular)
            & (rows[:, _FEATURE["log_nrmssd_filtered"]] >= np.log10(self.min_nrmssd))
            & (rows[:, _FEATURE["lag2_lag1_ratio"]] >= self.min_lag2_lag1)
        )
        result: FloatArray = irregular.astype(np.float64)[:, None]
        return result


@dataclass(frozen=True, slots=True)
class AfSettings:
    window_beats: int = 30
    step_beats: int = 10
    threshold: float = 0.5
    onset_windows: int = 2
    offset_windows: int = 2

    def __post_init__(self) -> None:
        if not MIN_BEATS <= self.window_beats <= MAX_BEATS:
            raise ValueError(f"window_beats must be {MIN_BEATS} to {MAX_BEATS}")
        if not 1 <= self.step_beats <= self.window_beats:
            raise ValueError("step_beats must be 1 to window_beats")
        if self.onset_windows < 1 or self.offset_windows < 1:
            raise ValueError("onset_windows and offset_windows must be at least 1")


@dataclass(frozen=True, slots=True)
class AfWindow:
    start_s: float
    end_s: float
    probability: float
    is_af: bool


@dataclass(frozen=True, slots=True)
class AfEvent:
    # "started" or "ended"
    phase: str
    # The middle of the first window called AF in the run that confirmed the episode.
    onset_s: float
    # For an ended event, the middle of the first window of the run that ended the episode.
    offset_s: float | None
    # When the detector decided: the end of the window that confirmed the change.
    at_s: float
    # Share of the analysed time spent in AF episodes so far, from 0 to 1.
    burden: float


# Features of the ECG between two times (the start and end of a window, in seconds).
Morphology = Callable[[float, float], FloatArray]


class AfDetector:
    def __init__(self, classifier: WindowClassifier | None = None,
                 settings: AfSettings | None = None,
                 morphology: Morphology | None = None) -> None:
        self._classifier: WindowClassifier = classifier or RuleClassifier()
        self._morphology = morphology
        self._settings = settings or AfSettings()
        self._rr: deque[float] = deque(maxlen=self._settings.window_beats)
        self._last_beat_s: float | None = None
        self._since_window = 0
        self._run: list[AfWindow] = []
        self._episode_onset: float | None = None
        # Start of the stretch of the open episode not yet added to the AF time.
        self._uncounted_from: float | None = None
        self._af_s = 0.0
        self._analysed_s = 0.0
        self._analysed_until: float | None = None
        self.last_window: AfWindow | None = None

    @property
    def in_episode(self) -> bool:
        return self._episode_onset is not None

    @property
    def burden(self) -> float:
        """Share of the analysed time in AF so far, counting an open episode up to now."""
        open_stretch = 0.0
        if self._uncounted_from is not None and self._analysed_until is not None:
            open_stretch = max(self._analysed_until - self._uncounted_from, 0.0)
        return (self._af_s + open_stretch) / self._analysed_s if self._analysed_s > 0 else 0.0

    def push(self, beat_at_s: float, rr_s: float) -> list[AfEvent]:
        """One interval, ending with the beat at `beat_at_s`; returns the events it causes."""
        if not self._continues(beat_at_s, rr_s):
            self._restart()
        self._last_beat_s = beat_at_s
        if not MIN_RR_S <= rr_s <= MAX_RR_S:
            return []
        self._rr.append(rr_s)
        self._since_window += 1
        ready = len(self._rr) == self._settings.window_beats
        due = self._analysed_until is None or self._since_window >= self._settings.step_beats
        if not (ready and due):
            return []
        self._since_window = 0
        return self._classify_window(beat_at_s)

    def _continues(self, beat_at_s: float, rr_s: float) -> bool:
        if not MIN_RR_S <= rr_s <= MAX_RR_S:
            return False
        if self._last_beat_s is None:
            return True
        return abs(beat_at_s - self._last_beat_s - rr_s) <= MAX_TIME_MISMATCH_S

    def _restart(self) -> None:
        self._rr.clear()
        self._since_window = 0
        self._run.clear()
        if self._uncounted_from is not None and self._analysed_until is not None:
            self._af_s += max(self._analysed_until - self._uncounted_from, 0.0)
            self._uncounted_from = None
        self._analysed_until = None

    def _classify_window(self, end_s: float) -> list[AfEvent]:
        start_s = end_s - sum(self._rr)
        features = rr_window_features(np.fromiter(self._rr, dtype=np.float64))
        if self._morphology is not None:
            features = np.concatenate((features, self._morphology(start_s, end_s)))
        probability = float(self._classifier.predict(features[None, :])[0, 0])
        window = AfWindow(start_s, end_s, probability, probability >= self._settings.threshold)
        self.last_window = window
        if self._analysed_until is None:
            self._analysed_s += end_s - start_s
            if self.in_episode:
                self._uncounted_from = start_s
        else:
            self._analysed_s += end_s - self._analysed_until
        self._analysed_until = end_s
        return self._update_episode(window)

    def _update_episode(self, window: AfWindow) -> list[AfEvent]:
        if window.is_af == self.in_episode:
            self._run.clear()
            return []
        self._run.append(window)
        needed = self._settings.offset_windows if self.in_episode else self._settings.onset_windows
        if len(self._run) < needed:
            return []
        first = self._run[0]
        self._run.clear()
        change_s = (first.start_s + first.end_s) / 2
        if self._episode_onset is None:
            self._episode_onset = self._uncounted_from = change_s
            return [AfEvent("started", change_s, None, window.end_s, self.burden)]
        onset, self._episode_onset = self._episode_onset, None
        if self._uncounted_from is not None:
            self._af_s += max(change_s - self._uncounted_from, 0.0)
        self._uncounted_from = None
        return [AfEvent("ended", onset, change_s, window.end_s, self.burden)]
