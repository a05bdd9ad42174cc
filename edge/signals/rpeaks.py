"""Streaming R-peak detection in a single-lead ECG, after Pan and Tompkins (1985).

The signal is band-passed, differentiated, squared and integrated over a moving window; peaks
of that energy envelope are QRS candidates, which adaptive signal and noise levels classify.
Every filter is a centred (zero-phase) FIR built from moving averages, so the envelope at
sample t needs the signal up to t + `_Filters.half_width` (0.15 s); a candidate is confirmed
once the envelope is known `_DECISION_DELAY_S` (0.1 s) past it, or `_WEAK_DECISION_DELAY_S`
(0.25 s) for a weak one or the first one. Each beat is placed on the largest deflection in the
direction of the previous beat's (unless a beat of another shape is much larger the other
way), so that RR intervals do not jump between R and S waves. Beats found by searching back
after a long gap, and those of the first `_LEARNING_S` seconds, come later.

Each filter output is a dot product over the same samples whatever the chunking, so pushing a
record in chunks of any size gives exactly the same peaks.
"""

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

MIN_FS = 50.0

# Filter lengths, in seconds. Two 25 ms moving averages low-pass (first zero at 40 Hz); taking
# away a 100 ms moving average high-passes at about 4 Hz; the envelope integrates 150 ms.
_LOW_PASS_S = 0.025
_HIGH_PASS_S = 0.1
_DERIVATIVE_S = 0.008
_INTEGRATION_S = 0.15
# The R peak is placed on the largest deflection of the signal less its 200 ms moving average,
# within this distance of the envelope's peak; the QRS slope is measured in the same window.
_PLACEMENT_BASELINE_S = 0.2
_QRS_REACH_S = 0.08
# A beat is placed on its largest deflection in the direction of the last beat's, unless that
# is below this fraction of its largest in either direction.
_OTHER_SHAPE_RATIO = 0.5

# A candidate is confirmed once the envelope is known this far past it, so that a larger peak
# of the same complex is preferred.
_DECISION_DELAY_S = 0.1
_REFRACTORY_S = 0.2
# Candidates below this fraction of the signal level wait longer to be confirmed, in case they
# are the P wave of a larger complex (the PR interval is up to 0.2 s, more in AV block).
_CONFIDENT_FRACTION = 0.5
_WEAK_DECISION_DELAY_S = 0.25
_T_WAVE_WINDOW_S = 0.36
_T_WAVE_SLOPE_RATIO = 0.5
_LEARNING_S = 2.0
_KEPT_S = 5.0
_SEARCH_BACK_RR = 1.66
_RR_HISTORY = 8
_INITIAL_RR_S = 1.0
# Signal and noise levels follow each peak by these weights (a search-back beat counts more).
_LEVEL_WEIGHT = 0.125
_SEARCH_BACK_WEIGHT = 0.25
_THRESHOLD_FRACTION = 0.25
_MIN_SIGNAL_TO_NOISE = 4.0


def _odd_length(seconds: float, fs: float) -> int:
    """The odd number of samples nearest to `seconds`, at least 3."""
    return 2 * max(1, round((seconds * fs - 1) / 2)) + 1


def _moving_average(length: int) -> FloatArray:
    return np.full(length, 1.0 / length)


def _high_pass(length: int) -> FloatArray:
    """The identity less a moving average: removes what varies slower than the window."""
    kernel = -_moving_average(length)
    kernel[length // 2] += 1.0
    return kernel


@dataclass(frozen=True)
class _Filters:
    band_pass: FloatArray
    derivative_lag: int
    integration: FloatArray
    placement: FloatArray

    @classmethod
    def for_rate(cls, fs: float) -> "_Filters":
        low_pass = _moving_average(_odd_length(_LOW_PASS_S, fs))
        band_pass = np.convolve(
            np.convolve(low_pass, low_pass), _high_pass(_odd_length(_HIGH_PASS_S, fs))
        )
        return cls(
            band_pass=band_pass,
            derivative_lag=max(1, round(_DERIVATIVE_S * fs)),
            integration=_moving_average(_odd_length(_INTEGRATION_S, fs)),
            placement=_high_pass(_odd_length(_PLACEMENT_BASELINE_S, fs)),
        )

    @property
    def half_width(self) -> int:
        """How many samples past t the envelope at t depends on."""
        envelope = (len(self.band_pass) // 2) + self.derivative_lag + (len(self.integration) // 2)
        return max(envelope, len(self.placement) // 2)


@dataclass(frozen=True)
class _Features:
    envelope: FloatArray
    slope: FloatArray
    placement: FloatArray


def _features(extended: FloatArray, filters: _Filters) -> _Features:
    """Features for the samples of `extended` that lie `half_width` from both of its ends."""
    half = filters.half_width
    count = len(extended) - 2 * half
    lag = filters.derivative_lag
    band = np.convolve(extended, filters.band_pass, "valid")
    band_start = len(filters.band_pass) // 2
    slope = band[2 * lag :] - band[: -2 * lag]
    slope_start = band_start + lag
    envelope = np.convolve(slope * slope, filters.integration, "valid")
    envelope_start = slope_start + len(filters.integration) // 2
    placement = np.convolve(extended, filters.placement, "valid")
    placement_start = len(filters.placement) // 2
    return _Features(
        envelope=envelope[half - envelope_start :][:count],
        slope=np.abs(slope[half - slope_start :][:count]),
        placement=placement[half - placement_start :][:count],
    )


@dataclass(frozen=True)
class _Candidate:
    at: int
    height: float


@dataclass(frozen=True)
class _Beat:
    at: int
    slope: float


class RPeakDetector:
    """Push ECG samples (any unit, any chunk size) and collect the R peaks confirmed so far,
    as absolute sample indices counted from the first sample pushed."""

    def __init__(self, fs: float) -> None:
        if not np.isfinite(fs) or fs < MIN_FS:
            raise ValueError(f"fs must be at least {MIN_FS} Hz for R-peak detection, got {fs}")
        self._fs = fs
        self._filters = _Filters.for_rate(fs)
        self._tail: FloatArray = np.empty(0)
        self._received = 0
        self._finished = False
        # Features of recent samples from absolute index _kept_from; the first ones belong to
        # the padding before the first sample.
        self._kept_from = -self._filters.half_width
        self._envelope: FloatArray = np.empty(0)
        self._slope: FloatArray = np.empty(0)
        self._placement: FloatArray = np.empty(0)
        self._candidates: deque[_Candidate] = deque()
        self._scanned_to = 0
        self._rejected: list[_Candidate] = []
        self._signal_level: float | None = None
        self._noise_level = 0.0
        self._last_beat: _Beat | None = None
        # The last beat or, after none for long, the last time the signal level was lowered.
        self._silent_since = 0
        self._rr: deque[int] = deque(maxlen=_RR_HISTORY)
        # The direction (+1 or -1) of the deflection the last beat was placed on; 0 before any.
        self._polarity = 0.0

    def push(self, samples: npt.ArrayLike) -> list[int]:
        """Add samples; returns the R peaks newly confirmed, in increasing order."""
        if self._finished:
            raise ValueError("push() after flush(): the stream has ended")
        chunk = np.asarray(samples, dtype=np.float64)
        if chunk.ndim != 1:
            raise ValueError(f"samples must be one-dimensional, got shape {chunk.shape}")
        not_finite = np.flatnonzero(~np.isfinite(chunk))
        if not_finite.size:
            raise ValueError(f"sample {self._received + int(not_finite[0])} is not finite")
        if not chunk.size:
            return []
        if not self._received:
            # Repeat the first sample backwards so that the filters start without a step.
            self._tail = np.full(2 * self._filters.half_width, chunk[0])
        self._extend(chunk)
        peaks = self._decide(until=self._received - self._filters.half_width, final=False)
        self._forget_old_features()
        return peaks

    def flush(self) -> list[int]:
        """End of the stream: confirm what the samples received allow."""
        received, self._finished = self._received, True
        if not received or len(self._tail) == 0:
            return []
        self._extend(np.full(self._filters.half_width, self._tail[-1]))
        self._tail = np.empty(0)
        return self._decide(until=received, final=True)

    def _seconds(self, seconds: float) -> int:
        return round(seconds * self._fs)

    def _extend(self, chunk: FloatArray) -> None:
        extended = np.concatenate((self._tail, chunk))
        self._tail = extended[-2 * self._filters.half_width :]
        self._received += len(chunk)
        features = _features(extended, self._filters)
        self._envelope = np.concatenate((self._envelope, features.envelope))
        self._slope = np.concatenate((self._slope, features.slope))
        self._placement = np.concatenate((self._placement, features.placement))

    def _forget_old_features(self) -> None:
        """Keep the last few seconds, enough to place a beat found by searching back."""
        keep = self._seconds(_KEPT_S)
        if self._signal_level is None or len(self._envelope) < 2 * keep:
            return
        drop = len(self._envelope) - keep
        self._kept_from += drop
        self._envelope = self._envelope[drop:]
        self._slope = self._slope[drop:]
        self._placement = self._placement[drop:]
        # Search-back can only place candidates whose surroundings are still kept.
        earliest = self._kept_from + self._seconds(_QRS_REACH_S)
        self._rejected = [rejected for rejected in self._rejected if rejected.at >= earliest]

    def _window(self, feature: FloatArray, at: int) -> FloatArray:
        """The feature within `_QRS_REACH_S` of absolute index `at`."""
        reach = self._seconds(_QRS_REACH_S)
        start = max(at - reach - self._kept_from, 0)
        return feature[start : at + reach + 1 - self._kept_from]

    def _decide(self, until: int, final: bool) -> list[int]:
        """Classify the candidates that the envelope, known up to `until`, allows."""
        self._find_candidates(until)
        if self._signal_level is None:
            if until < self._seconds(_LEARNING_S) and not final:
                return []
            self._learn(until)
        peaks: list[int] = []
        while self._candidates:
            candidate = self._candidates[0]
            look_ahead = self._look_ahead(candidate)
            if candidate.at + look_ahead >= until and not final:
                break
            self._candidates.popleft()
            peaks += self._search_back(before=candidate.at)
            if self._is_largest_within(candidate, look_ahead):
                peaks += self._classify(candidate)
        horizon = until if final else until - self._seconds(_DECISION_DELAY_S)
        if self._candidates:
            horizon = min(horizon, self._candidates[0].at)
        return peaks + self._search_back(before=horizon)

    def _find_candidates(self, until: int) -> None:
        """Local maxima of the envelope: rising on the left, not rising on the right."""
        start = max(self._scanned_to, self._kept_from + 1)
        stop = until - 1
        if stop <= start:
            return
        window = self._envelope[start - 1 - self._kept_from : stop + 1 - self._kept_from]
        middle = window[1:-1]
        maxima = np.flatnonzero((middle > window[:-2]) & (middle >= window[2:]))
        self._candidates.extend(
            _Candidate(at=start + index, height=float(middle[index])) for index in maxima.tolist()
        )
        self._scanned_to = stop

    def _learn(self, until: int) -> None:
        learned = self._envelope[: min(until, self._seconds(_LEARNING_S)) - self._kept_from]
        self._signal_level = float(learned.max()) / 3 if learned.size else 0.0
        self._noise_level = float(learned.mean()) / 2 if learned.size else 0.0
        self._silent_since = until

    def _look_ahead(self, candidate: _Candidate) -> int:
        """How far past a candidate the envelope must be known to decide it. A weak candidate
        waits longer: it may be the P wave of a larger complex. So does the first one, which no
        beat before it vouches for: it may also be the settling of the recording's start."""
        assert self._signal_level is not None
        weak = candidate.height < _CONFIDENT_FRACTION * self._signal_level
        if weak or self._last_beat is None:
            return self._seconds(_WEAK_DECISION_DELAY_S)
        return self._seconds(_DECISION_DELAY_S)

    def _is_largest_within(self, candidate: _Candidate, look_ahead: int) -> bool:
        reach = candidate.at + look_ahead
        for later in self._candidates:
            if later.at > reach:
                return True
            if later.height > candidate.height:
                return False
        return True

    def _threshold(self) -> float:
        assert self._signal_level is not None
        return self._noise_level + _THRESHOLD_FRACTION * (self._signal_level - self._noise_level)

    def _classify(self, candidate: _Candidate) -> list[int]:
        last = self._last_beat
        if last is not None and candidate.at - last.at < self._seconds(_REFRACTORY_S):
            return []
        if candidate.height > self._threshold() and not self._is_t_wave(candidate):
            return self._accept(candidate, _LEVEL_WEIGHT)
        self._noise_level += _LEVEL_WEIGHT * (candidate.height - self._noise_level)
        self._rejected.append(candidate)
        return []

    def _is_t_wave(self, candidate: _Candidate) -> bool:
        """Soon after a beat, a candidate with a much gentler slope is its T wave."""
        last = self._last_beat
        return (
            last is not None
            and candidate.at - last.at < self._seconds(_T_WAVE_WINDOW_S)
            and self._max_slope(candidate.at) < _T_WAVE_SLOPE_RATIO * last.slope
        )

    def _max_slope(self, at: int) -> float:
        return float(self._window(self._slope, at).max())

    def _accept(self, candidate: _Candidate, weight: float) -> list[int]:
        assert self._signal_level is not None
        self._signal_level += weight * (candidate.height - self._signal_level)
        if self._last_beat is not None:
            self._rr.append(candidate.at - self._last_beat.at)
        self._last_beat = _Beat(candidate.at, self._max_slope(candidate.at))
        self._silent_since = candidate.at
        self._rejected.clear()
        return [self._place(candidate.at)]

    def _place(self, at: int) -> int:
        """The largest deflection near the envelope's peak in the direction of the last beat's,
        unless the other direction's is more than twice as large (a beat of another shape).
        Where R and S waves are of similar size, taking whichever is larger would move the peak
        from beat to beat by the R-S distance, which reads as irregular RR intervals."""
        reach = self._seconds(_QRS_REACH_S)
        start = max(at - reach, self._kept_from)
        window = self._window(self._placement, at)
        chosen = int(np.argmax(np.abs(window)))
        preferred = int(np.argmax(window * self._polarity))
        if window[preferred] * self._polarity >= _OTHER_SHAPE_RATIO * abs(window[chosen]):
            chosen = preferred
        self._polarity = 1.0 if window[chosen] > 0 else -1.0
        return start + chosen

    def _search_back(self, before: int) -> list[int]:
        """After a gap much longer than the recent beats, take the largest rejected candidate
        above half the threshold as a missed beat; failing that, lower the signal level."""
        if before - self._silent_since <= _SEARCH_BACK_RR * self._mean_rr():
            return []
        missed = self._largest_missed()
        if missed is None:
            self._lower_signal_level()
            self._silent_since = before
            return []
        later = [rejected for rejected in self._rejected if rejected.at > missed.at]
        peaks = self._accept(missed, _SEARCH_BACK_WEIGHT)
        self._rejected = later
        return peaks + self._search_back(before)

    def _mean_rr(self) -> float:
        return float(np.mean(self._rr)) if self._rr else self._seconds(_INITIAL_RR_S)

    def _largest_missed(self) -> _Candidate | None:
        earliest = self._last_beat.at + self._seconds(_REFRACTORY_S) if self._last_beat else 0
        eligible = [
            rejected
            for rejected in self._rejected
            if rejected.at >= earliest and rejected.height > self._threshold() / 2
        ]
        return max(eligible, key=lambda rejected: rejected.height, default=None)

    def _lower_signal_level(self) -> None:
        """The beats may have shrunk (electrode contact, posture) below the search-back
        threshold: halve the signal level, but keep it clear of the noise level so that noise
        alone does not pass for beats."""
        assert self._signal_level is not None
        self._signal_level = max(
            (self._signal_level + self._noise_level) / 2,
            _MIN_SIGNAL_TO_NOISE * self._noise_level,
        )


def detect_r_peaks(
    signal_mv: npt.ArrayLike, fs: float, chunk: int | None = None
) -> npt.NDArray[np.int64]:
    """R-peak sample indices of a whole record, streamed through `RPeakDetector` in chunks of
    `chunk` samples (all at once when None)."""
    signal = np.asarray(signal_mv, dtype=np.float64)
    if chunk is not None and chunk <= 0:
        raise ValueError(f"chunk must be a positive number of samples, got {chunk}")
    detector = RPeakDetector(fs)
    step = chunk or max(1, len(signal))
    peaks: list[int] = []
    for start in range(0, len(signal), step):
        peaks += detector.push(signal[start : start + step])
    peaks += detector.flush()
    return np.array(peaks, dtype=np.int64)
