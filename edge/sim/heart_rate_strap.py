"""A heart-rate strap: heart rate with respiratory sinus arrhythmia and scripted episodes."""

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from edge.gatt.heart_rate_measurement import HeartRateMeasurement

_RR_UNITS_PER_SECOND = 1024
_BREATHS_PER_SECOND = 0.25
_RSA_DEPTH = 0.04


@dataclass(frozen=True, slots=True)
class Episode:
    """Heart rate moves to `bpm` at `start_s`, holds it for `duration_s`, then returns."""

    start_s: float
    duration_s: float
    bpm: float
    ramp_s: float = 5.0

    def weight(self, elapsed_s: float) -> float:
        """How far the episode has taken hold at this time, from 0 to 1."""
        rise = (elapsed_s - self.start_s) / self.ramp_s
        fall = (self.start_s + self.duration_s - elapsed_s) / self.ramp_s
        return max(0.0, min(1.0, rise, fall))


# Packets a faulty strap sends: empty, truncated (uint16 heart rate announced, one byte sent),
# and inconsistent (RR intervals announced, none sent).
MALFORMED_PACKETS = (b"", b"\x01\x48", b"\x10\x48")


class HeartRateStrap:
    """Produces one Heart Rate Measurement packet per call, with the RR intervals of the beats
    that fell since the previous call."""

    def __init__(
        self,
        resting_bpm: float,
        episodes: Sequence[Episode] = (),
        malformed_every: int = 0,
        seed: int = 0,
    ) -> None:
        self._resting_bpm = resting_bpm
        self._episodes = tuple(episodes)
        self._malformed_every = malformed_every
        self._random = random.Random(seed)
        self._next_beat_s = 0.0
        self._last_beat_s = 0.0
        self._packets = 0

    def heart_rate_at(self, elapsed_s: float) -> float:
        bpm = self._resting_bpm
        for episode in self._episodes:
            bpm += (episode.bpm - bpm) * episode.weight(elapsed_s)
        return bpm

    def _rr_at(self, beat_s: float) -> float:
        base = 60.0 / self.heart_rate_at(beat_s)
        breathing = 1 + _RSA_DEPTH * math.sin(2 * math.pi * _BREATHS_PER_SECOND * beat_s)
        return base * breathing * (1 + self._random.gauss(0, 0.005))

    def beats_until(self, elapsed_s: float) -> list[float]:
        """Times of the beats since the previous call, up to `elapsed_s`, in seconds."""
        beats = []
        while self._next_beat_s + self._rr_at(self._next_beat_s) <= elapsed_s:
            self._next_beat_s += self._rr_at(self._next_beat_s)
            beats.append(self._next_beat_s)
        return beats

    def packet(self, elapsed_s: float) -> bytes:
        """Bytes the strap notifies at `elapsed_s` seconds after it started, with the RR
        intervals of the beats since the previous packet."""
        self._packets += 1
        beats = [self._last_beat_s, *self.beats_until(elapsed_s)]
        self._last_beat_s = beats[-1]
        rr_intervals = [round((b - a) * _RR_UNITS_PER_SECOND)
                        for a, b in itertools.pairwise(beats)]
        if self._malformed_every and self._packets % self._malformed_every == 0:
            faults = self._packets // self._malformed_every
            return MALFORMED_PACKETS[faults % len(MALFORMED_PACKETS)]
        bpm = round(self.heart_rate_at(elapsed_s))
        return HeartRateMeasurement(bpm, True, None, tuple(rr_intervals)).to_bytes()
