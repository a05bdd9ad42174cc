"""Tests of per-beat features, PVC labels and signal quality.

`synthetic_ecg` draws an ECG from Gaussian waves at any sampling rate, so a test can put a beat of
known shape at a known time, and draw the very same signal at 130, 250 and 360 Hz.
"""

import numpy as np
import numpy.typing as npt

# (offset from the R peak in s, amplitude in mV, width (sigma) in s) of each wave of a beat.
Wave = tuple[float, float, float]
NORMAL: tuple[Wave, ...] = (
    (-0.16, 0.12, 0.02),
    (0.0, 1.0, 0.01),
    (0.03, -0.25, 0.01),
    (0.25, 0.3, 0.04),
)
# Wide, inverted, no P wave, T wave opposite to the QRS: a typical PVC.
VENTRICULAR: tuple[Wave, ...] = ((0.0, -1.3, 0.035), (0.3, 0.45, 0.06))


def synthetic_ecg(
    fs: float, beat_times_s: npt.ArrayLike, shapes: list[tuple[Wave, ...]], duration_s: float
) -> npt.NDArray[np.float64]:
    t = np.arange(round(duration_s * fs)) / fs
    signal = np.zeros_like(t)
    for at, shape in zip(np.asarray(beat_times_s, dtype=np.float64), shapes, strict=True):
        for offset, amplitude, width in shape:
            signal += amplitude * np.exp(-0.5 * ((t - at - offset) / width) ** 2)
    return signal


def rhythm_with_pvcs(
    beats: int, pvc_at: set[int], rr_s: float = 0.8, coupling: float = 0.6
) -> tuple[npt.NDArray[np.float64], list[tuple[Wave, ...]]]:
    """Beat times and shapes: sinus beats every `rr_s`, PVCs at the given beat numbers coming
    `coupling` x RR early, followed by a full compensatory pause."""
    times = 0.5 + rr_s * np.arange(beats, dtype=np.float64)
    for index in pvc_at:
        times[index] -= (1 - coupling) * rr_s
    shapes = [VENTRICULAR if index in pvc_at else NORMAL for index in range(beats)]
    return times, shapes
