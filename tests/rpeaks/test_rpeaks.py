from fractions import Fraction
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from edge.records.wfdb import read_annotations, read_record
from edge.signals.rpeaks import RPeakDetector, detect_r_peaks
from tests.af import synthetic_ecg
from tools.evaluation.rpeaks import Score, match_beats, resample

ECG = Path(__file__).resolve().parents[1] / "data" / "ecg"
MITDB_EXCERPTS = ("100_60s", "106_780s", "200_1080s")
TOLERANCE_S = 0.15
# Each excerpt holds about 40 beats: at most one missed and one extra.
MIN_SCORE = 0.97


def excerpt(name: str, fs: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """An excerpt's signal at `fs` and its annotated beats, resampled from 360 Hz."""
    record = read_record(ECG / f"{name}.hea")
    beats = read_annotations(ECG / f"{name}.atr").samples
    ratio = Fraction(fs, round(record.fs))
    signal = resample(record.signal_mv, ratio) if ratio != 1 else record.signal_mv
    return signal, np.round(beats * float(ratio)).astype(np.int64)


def score(name: str, fs: int, sign: float = 1.0) -> Score:
    signal, beats = excerpt(name, fs)
    return match_beats(beats, detect_r_peaks(sign * signal, fs), round(TOLERANCE_S * fs))


@pytest.mark.parametrize("name", MITDB_EXCERPTS)
@pytest.mark.parametrize("fs", [360, 130, 250, 500])
def test_detects_the_annotated_beats(name: str, fs: int) -> None:
    result = score(name, fs)
    assert result.sensitivity >= MIN_SCORE
    assert result.positive_predictivity >= MIN_SCORE


@pytest.mark.parametrize("name", MITDB_EXCERPTS)
def test_an_inverted_lead_gives_the_same_beats(name: str) -> None:
    result = score(name, 360, sign=-1.0)
    assert result.sensitivity >= MIN_SCORE
    assert result.positive_predictivity >= MIN_SCORE


@pytest.mark.parametrize("name", MITDB_EXCERPTS)
def test_peaks_sit_on_the_annotated_r_wave(name: str) -> None:
    signal, beats = excerpt(name, 360)
    peaks = detect_r_peaks(signal, 360)
    nearest = peaks[np.abs(peaks[:, None] - beats[None, :]).argmin(axis=0)]
    assert np.median(np.abs(nearest - beats)) <= round(0.01 * 360)


@pytest.mark.parametrize("chunk", [1, 13, 73, 1000])
def test_any_chunking_gives_the_same_peaks(chunk: int) -> None:
    signal, _ = excerpt("200_1080s", 360)
    assert np.array_equal(detect_r_peaks(signal, 360, chunk=chunk), detect_r_peaks(signal, 360))


def test_peaks_are_confirmed_soon_after_they_occur() -> None:
    signal, _ = excerpt("100_60s", 130)
    detector = RPeakDetector(130)
    delays = []
    for end in range(10, len(signal) + 1, 10):
        peaks = detector.push(signal[end - 10 : end])
        # After the two-second learning period, within the filters' and decision's look-ahead.
        delays += [end - 1 - peak for peak in peaks if peak >= 2 * 130]
    assert len(delays) > 30
    assert max(delays) <= round(0.45 * 130)


def test_a_normal_sinus_recording_at_300_hz_has_a_regular_rhythm() -> None:
    record = read_record(ECG / "A00001.hea")
    rr_s = np.diff(detect_r_peaks(record.signal_mv, record.fs)) / record.fs
    assert len(rr_s) > 0.9 * len(record.adc) / record.fs / 1.5
    assert 0.4 < float(np.mean(rr_s)) < 1.5
    assert float(np.std(rr_s) / np.mean(rr_s)) < 0.1


@pytest.mark.parametrize("first_beat_s", [0.22, 0.25])
def test_the_settling_of_a_recording_start_is_not_a_beat(first_beat_s: float) -> None:
    # A hand-held recording that starts with a step of the baseline, which then decays, a
    # little more than the refractory period before the first QRS (as cinc2017 A00087).
    fs = 300.0
    signal, beats = synthetic_ecg(np.full(20, 0.8), fs, p_waves=True, seed=1)
    start = round((1.0 - first_beat_s) * fs)
    signal, beats = signal[start:], beats - start
    t_s = np.arange(len(signal)) / fs
    signal += 0.8 * np.exp(-t_s / 0.5) * (t_s > 0.02)
    assert match_beats(beats, detect_r_peaks(signal, fs), round(0.05 * fs)) == Score(
        tp=len(beats), fn=0, fp=0)


def test_a_qrs_with_r_and_s_waves_of_similar_size_is_placed_on_the_same_wave_every_beat() -> None:
    # Regular beats every 0.8 s; each an R wave and, 25 ms later, an S wave, either of which
    # may be the larger (their heights vary by +-10 % from beat to beat).
    fs = 300.0
    rng = np.random.default_rng(5)
    t_s = np.arange(round(30 * fs)) / fs
    signal = np.zeros_like(t_s)
    for beat_s in np.arange(1.0, 29.0, 0.8):
        r_mv, s_mv = rng.uniform(0.45, 0.55, size=2)
        signal += r_mv * np.exp(-0.5 * ((t_s - beat_s) / 0.008) ** 2)
        signal -= s_mv * np.exp(-0.5 * ((t_s - beat_s - 0.025) / 0.008) ** 2)
    rr_s = np.diff(detect_r_peaks(signal, fs)) / fs
    assert len(rr_s) == 34
    np.testing.assert_allclose(rr_s, 0.8, atol=1.5 / fs)


@pytest.mark.parametrize("level", [0.0, 1.5])
def test_a_flat_line_has_no_peaks(level: float) -> None:
    assert detect_r_peaks(np.full(10 * 250, level), 250).size == 0


def test_noise_alone_does_not_break_the_detector() -> None:
    noise = np.random.default_rng(7).normal(0.0, 0.05, 20 * 250)
    peaks = detect_r_peaks(noise, 250, chunk=50)
    assert np.all((peaks >= 0) & (peaks < len(noise)))
    assert np.all(np.diff(peaks) > 0)


def test_a_record_shorter_than_the_learning_period_is_still_read() -> None:
    signal, beats = excerpt("100_60s", 360)
    short = signal[: beats[2] + 100]
    peaks = detect_r_peaks(short, 360)
    assert match_beats(beats[:3], peaks, round(TOLERANCE_S * 360)).tp == 3


@pytest.mark.parametrize("fs", [0.0, -360.0, float("nan"), 20.0])
def test_an_unusable_sampling_rate_is_refused(fs: float) -> None:
    with pytest.raises(ValueError, match="fs must be at least"):
        RPeakDetector(fs)


def test_a_chunk_size_of_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="chunk must be a positive"):
        detect_r_peaks(np.zeros(100), 360, chunk=0)


def test_bad_samples_are_refused_with_their_index() -> None:
    detector = RPeakDetector(360)
    detector.push(np.zeros(10))
    with pytest.raises(ValueError, match="sample 13 is not finite"):
        detector.push(np.array([0.0, 0.0, 0.0, np.nan]))
    with pytest.raises(ValueError, match="one-dimensional"):
        detector.push(np.zeros((2, 2)))


def test_pushing_after_flush_is_refused() -> None:
    detector = RPeakDetector(360)
    detector.push(np.zeros(10))
    detector.flush()
    with pytest.raises(ValueError, match="after flush"):
        detector.push(np.zeros(10))


def test_matching_is_one_to_one() -> None:
    reference = np.array([100, 200, 300])
    detected = np.array([101, 102, 290, 500])
    assert match_beats(reference, detected, tolerance=15) == Score(tp=2, fn=1, fp=2)
    assert match_beats(reference, np.array([], dtype=np.int64), tolerance=15) == Score(0, 3, 0)
