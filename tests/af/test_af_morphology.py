import numpy as np
import pytest

from edge.signals.af_morphology import (
    MORPHOLOGY_FEATURE_NAMES,
    ecg_window_features,
    without_ectopic_beats,
)
from tests.af import FloatArray, af_rr, sinus_rr, synthetic_ecg, with_ectopic_beats

FEATURE = {name: index for index, name in enumerate(MORPHOLOGY_FEATURE_NAMES)}
FS = 250.0


def features_of(rr: FloatArray, *, p_waves: bool, noise_mv: float,
                f_waves_mv: float = 0.0) -> FloatArray:
    signal, peaks = synthetic_ecg(rr, FS, p_waves=p_waves, seed=1, noise_mv=noise_mv,
                                  f_waves_mv=f_waves_mv)
    return ecg_window_features(signal, FS, peaks)


def test_sinus_beats_are_alike_in_qrs_and_p_wave() -> None:
    features = features_of(sinus_rr(30, seed=1), p_waves=True, noise_mv=0.01)
    assert features[FEATURE["log_qrs_mismatch"]] < np.log10(0.05)
    assert features[FEATURE["p_correlation"]] > 0.8


@pytest.mark.parametrize("seed", range(3))
def test_fibrillatory_waves_instead_of_p_waves_show(seed: int) -> None:
    sinus = features_of(sinus_rr(30, seed), p_waves=True, noise_mv=0.01)
    af = features_of(af_rr(30, seed), p_waves=False, f_waves_mv=0.05, noise_mv=0.01)
    assert af[FEATURE["p_correlation"]] < sinus[FEATURE["p_correlation"]] - 0.3
    assert af[FEATURE["log_p_residual_ratio"]] > sinus[FEATURE["log_p_residual_ratio"]] + 0.3
    assert af[FEATURE["log_qrs_mismatch"]] < np.log10(0.1)


def test_noise_shows_in_the_qrs_alikeness() -> None:
    clean = features_of(sinus_rr(30, seed=2), p_waves=True, noise_mv=0.01)
    noisy = features_of(sinus_rr(30, seed=2), p_waves=True, noise_mv=0.4)
    assert noisy[FEATURE["log_qrs_mismatch"]] > clean[FEATURE["log_qrs_mismatch"]] + 1


def test_ectopic_beats_are_left_out_of_the_templates() -> None:
    rr = with_ectopic_beats(sinus_rr(30, seed=3), every=5)
    pvcs = frozenset(start + 1 for start in range(2, 29, 5))
    signal, peaks = synthetic_ecg(rr, FS, p_waves=True, seed=3, wide_beats=pvcs)
    kept = without_ectopic_beats(peaks, FS)
    assert sorted(set(peaks.tolist()) - set(kept.tolist())) == [peaks[i] for i in sorted(pvcs)]
    features = ecg_window_features(signal, FS, peaks)
    assert features[FEATURE["log_qrs_mismatch"]] < np.log10(0.05)
    assert features[FEATURE["p_correlation"]] > 0.8


def test_too_few_whole_beats_read_as_least_sinus_like() -> None:
    signal, peaks = synthetic_ecg(sinus_rr(1, seed=4), FS, p_waves=True, seed=4)
    features = ecg_window_features(signal, FS, peaks)
    assert features.tolist() == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("p_waves", [True, False])
def test_features_do_not_depend_on_the_sampling_rate(p_waves: bool) -> None:
    rr = sinus_rr(30, seed=5) if p_waves else af_rr(30, seed=5)
    signal, peaks = synthetic_ecg(rr, 300.0, p_waves=p_waves, seed=5, noise_mv=0.01,
                                  f_waves_mv=0.0 if p_waves else 0.05)
    # The same ECG at 130 Hz (a Polar H10), band-limited: its spectrum cut at 65 Hz.
    length = len(signal) * 13 // 30
    slow = np.fft.irfft(np.fft.rfft(signal)[:length // 2 + 1], n=length) * length / len(signal)
    high = ecg_window_features(signal, 300.0, peaks)
    low = ecg_window_features(slow, 130.0, np.round(peaks * 13 / 30).astype(np.intp))
    assert abs(low[FEATURE["log_qrs_mismatch"]] - high[FEATURE["log_qrs_mismatch"]]) < 0.15
    assert abs(low[FEATURE["p_correlation"]] - high[FEATURE["p_correlation"]]) < 0.08
    assert abs(low[FEATURE["log_p_residual_ratio"]] - high[FEATURE["log_p_residual_ratio"]]) < 0.1
