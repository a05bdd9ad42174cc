from pathlib import Path

import numpy as np
import pytest

from edge.detect.quality import (
    BASELINE_WANDER,
    BEATS_DISAGREE,
    CLIPPED,
    FLAT,
    HIGH_FREQUENCY_NOISE,
    IMPLAUSIBLE_RR,
    QualitySettings,
    WindowQuality,
    assess,
    is_usable,
    usable_at,
    window_quality,
)
from edge.records.wfdb import read_record
from edge.signals.rpeaks import detect_r_peaks
from tests.ectopy import NORMAL, VENTRICULAR, synthetic_ecg

DATA = Path(__file__).parents[1] / "data"
FS = 250.0
TIMES = 0.4 + 0.8 * np.arange(6)


def _clean(fs: float = FS) -> np.ndarray:
    return synthetic_ecg(fs, TIMES, [NORMAL] * TIMES.size, duration_s=5.0)


def _peaks(fs: float = FS) -> np.ndarray:
    return np.round(TIMES * fs).astype(np.int64)


@pytest.mark.parametrize("fs", [130.0, 250.0, 360.0])
def test_a_clean_ecg_is_usable(fs: float) -> None:
    quality = window_quality(_clean(fs), fs, _peaks(fs))
    assert quality.usable, quality.reasons
    assert quality.beat_agreement is not None and quality.beat_agreement > 0.99


def test_a_flat_line_is_unusable() -> None:
    assert window_quality(np.full(1250, 0.3), FS, np.array([], dtype=np.int64)).reasons[0] == FLAT


def test_a_signal_stuck_at_the_amplifier_limit_is_clipped() -> None:
    clipped = np.clip(_clean() * 4, -0.5, 0.5)
    assert CLIPPED in window_quality(clipped, FS, _peaks()).reasons
    assert CLIPPED not in window_quality(_clean() * 4, FS, _peaks()).reasons


def test_muscle_noise_is_high_frequency_noise() -> None:
    noisy = _clean() + np.random.default_rng(3).normal(0, 0.15, 1250)
    quality = window_quality(noisy, FS, _peaks())
    assert HIGH_FREQUENCY_NOISE in quality.reasons


def test_high_frequency_noise_is_not_judged_where_the_rate_cannot_show_it() -> None:
    noisy = _clean(60.0) + np.random.default_rng(3).normal(0, 0.15, 300)
    assert window_quality(noisy, 60.0, _peaks(60.0)).noise_power_ratio == 0.0


def test_a_baseline_swinging_by_millivolts_is_wander() -> None:
    t = np.arange(1250) / FS
    moving = _clean() + 2.0 * np.sin(2 * np.pi * 0.3 * t)
    assert BASELINE_WANDER in window_quality(moving, FS, _peaks()).reasons
    assert BASELINE_WANDER not in window_quality(_clean(), FS, _peaks()).reasons


def test_artefacts_each_of_its_own_shape_disagree() -> None:
    rng = np.random.default_rng(11)
    shapes = [
        tuple((float(rng.uniform(-0.08, 0.08)), float(rng.normal(0, 1)), 0.01) for _ in range(4))
        for _ in TIMES
    ]
    artefacts = synthetic_ecg(FS, TIMES, shapes, duration_s=5.0)
    assert BEATS_DISAGREE in window_quality(artefacts, FS, _peaks()).reasons


def test_bigeminy_agrees_with_itself() -> None:
    bigeminy = synthetic_ecg(FS, TIMES, [NORMAL, VENTRICULAR] * 3, duration_s=5.0)
    quality = window_quality(bigeminy, FS, _peaks())
    assert quality.beat_agreement == 1.0
    assert BEATS_DISAGREE not in quality.reasons


def test_intervals_no_heart_makes_are_implausible() -> None:
    too_close = np.sort(np.concatenate((_peaks(), _peaks()[:3] + 25)))
    assert IMPLAUSIBLE_RR in window_quality(_clean(), FS, too_close).reasons
    assert IMPLAUSIBLE_RR in window_quality(_clean(), FS, _peaks()[:1]).reasons


def test_windows_cover_the_recording_and_a_short_tail_is_dropped() -> None:
    signal = np.tile(_clean(), 3)[: round(12.2 * FS)]
    peaks = np.concatenate([_peaks() + k * 1250 for k in range(3)])
    windows = assess(signal, FS, peaks[peaks < signal.size])
    assert [(w.start_s, w.end_s) for w in windows] == [(0.0, 5.0), (5.0, 10.0)]
    assert all(w.usable for w in windows)


def _window(start: float, usable: bool) -> WindowQuality:
    reasons = () if usable else (FLAT,)
    return WindowQuality(start, start + 5, reasons, 0.0, 0.0, None)


def test_usable_at_reads_the_window_of_each_time() -> None:
    windows = [_window(0, True), _window(5, False), _window(10, True)]
    assert usable_at(windows, np.array([1.0, 5.0, 9.9, 12.0, 20.0])).tolist() == [
        True,
        False,
        False,
        True,
        False,
    ]


def test_a_span_is_unusable_from_half_of_its_windows() -> None:
    settings = QualitySettings(max_unusable_share=0.5)
    assert is_usable([_window(0, True), _window(5, True), _window(10, False)], settings)
    assert not is_usable([_window(0, True), _window(5, False)], settings)
    assert not is_usable([], settings)


def _record_usable(path: Path) -> bool:
    record = read_record(path, verify=False)
    peaks = detect_r_peaks(record.signal_mv, record.fs)
    return is_usable(assess(record.signal_mv, record.fs, peaks))


@pytest.mark.parametrize("name", ["A01006", "A02833"])
def test_recordings_labelled_too_noisy_are_unusable(name: str) -> None:
    assert not _record_usable(DATA / "ecg_quality" / f"{name}.hea")


@pytest.mark.parametrize("name", ["A00001", "A00004"])
def test_clean_normal_and_af_recordings_are_usable(name: str) -> None:
    assert _record_usable(DATA / "ecg" / f"{name}.hea")
