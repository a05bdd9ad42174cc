from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from edge.detect.af import AfDetector, AfEvent, AfSettings, RuleClassifier
from edge.inference.model import load_model
from edge.signals.af_morphology import morphology_between
from edge.signals.rr_features import FEATURE_NAMES, rr_window_features
from tests.af import FloatArray, af_rr, sinus_rr, synthetic_ecg, with_ectopic_beats

MODELS = Path(__file__).resolve().parents[2] / "models"
SHIPPED_MANIFEST = MODELS / "af_rr" / "manifest.json"
SHIPPED_ECG_MANIFEST = MODELS / "af_ecg" / "manifest.json"
ECG_FS = 250.0


def stream(detector: AfDetector, rr_s: FloatArray, start_s: float = 0.0) -> list[AfEvent]:
    beat_times = start_s + np.cumsum(rr_s)
    return [event for at, rr in zip(beat_times, rr_s, strict=True)
            for event in detector.push(float(at), float(rr))]


class FastRhythm:
    """A transparent classifier for testing hysteresis alone: AF while the median RR < 0.5 s."""

    def predict(self, features: FloatArray) -> FloatArray:
        fast = features[:, FEATURE_NAMES.index("median_rr_s")] < 0.5
        result: FloatArray = fast.astype(np.float64)[:, None]
        return result


def rule_calls(rr_s: FloatArray) -> float:
    return float(RuleClassifier().predict(rr_window_features(rr_s))[0, 0])


@pytest.mark.parametrize("seed", range(10))
def test_rule_calls_af_windows_af_and_sinus_windows_not(seed: int) -> None:
    assert rule_calls(af_rr(30, seed)) == 1.0
    assert rule_calls(sinus_rr(30, seed)) == 0.0


@pytest.mark.parametrize("every", [3, 5, 8, 13])
def test_rule_does_not_call_ectopic_beats_in_sinus_rhythm_af(every: int) -> None:
    assert rule_calls(with_ectopic_beats(sinus_rr(30, seed=every), every)) == 0.0


def test_rule_does_not_call_bigeminy_af() -> None:
    assert rule_calls(np.tile([0.55, 1.05], 15) + 0.01 * np.sin(np.arange(30))) == 0.0


def test_sinus_with_ectopy_raises_no_episode() -> None:
    detector = AfDetector()
    assert stream(detector, with_ectopic_beats(sinus_rr(600, seed=1), every=7)) == []
    assert detector.burden == 0.0


def test_af_between_sinus_stretches_is_one_episode_with_its_burden() -> None:
    sinus_before, af, sinus_after = sinus_rr(120, 2), af_rr(300, 2), sinus_rr(120, 3)
    detector = AfDetector()
    events = stream(detector, np.concatenate((sinus_before, af, sinus_after)))
    started, ended = events
    af_from, af_to = sinus_before.sum(), sinus_before.sum() + af.sum()
    assert (started.phase, ended.phase) == ("started", "ended")
    assert abs(started.onset_s - af_from) < 20
    assert ended.offset_s is not None and abs(ended.offset_s - af_to) < 20
    assert started.at_s > started.onset_s
    assert ended.burden == pytest.approx(af.sum() / ended.at_s, abs=0.05)
    assert detector.burden == pytest.approx(af.sum() / (af_to + sinus_after.sum()), abs=0.05)


def test_one_af_window_in_a_row_is_not_enough_to_start_an_episode() -> None:
    settings = AfSettings(window_beats=10, step_beats=10, onset_windows=2, offset_windows=2)
    detector = AfDetector(FastRhythm(), settings)
    one_window = np.concatenate((np.full(20, 0.8), np.full(10, 0.4), np.full(20, 0.8)))
    assert stream(detector, one_window) == []
    two_windows = np.concatenate((np.full(20, 0.4), np.full(20, 0.8)))
    assert [e.phase for e in stream(detector, two_windows, start_s=100)] == ["started", "ended"]


def test_an_episode_survives_a_single_normal_window() -> None:
    settings = AfSettings(window_beats=10, step_beats=10, onset_windows=1, offset_windows=2)
    detector = AfDetector(FastRhythm(), settings)
    rr = np.concatenate((np.full(20, 0.4), np.full(10, 0.8), np.full(20, 0.4)))
    events = stream(detector, rr)
    assert [e.phase for e in events] == ["started"]
    assert detector.in_episode


def test_a_gap_restarts_analysis_without_ending_the_episode_or_counting_as_af() -> None:
    settings = AfSettings(window_beats=10, step_beats=10, onset_windows=1, offset_windows=1)
    detector = AfDetector(FastRhythm(), settings)
    assert [e.phase for e in stream(detector, np.full(20, 0.4))] == ["started"]
    # 60 s without beats, then more AF.
    assert stream(detector, np.full(20, 0.4), start_s=8.0 + 60.0) == []
    assert detector.in_episode
    # 16 s analysed: AF from the middle of the first window (2 s) to the end of each stretch.
    assert detector.burden == pytest.approx((8.0 - 2.0 + 8.0) / 16.0)


def test_an_implausible_interval_restarts_the_window() -> None:
    settings = AfSettings(window_beats=10, step_beats=10, onset_windows=1, offset_windows=1)
    detector = AfDetector(FastRhythm(), settings)
    rr = np.concatenate((np.full(9, 0.4), [0.1], np.full(9, 0.4)))
    assert stream(detector, rr) == []
    assert detector.last_window is None


def test_settings_outside_the_feature_window_range_are_refused() -> None:
    with pytest.raises(ValueError, match="window_beats"):
        AfSettings(window_beats=61)


@pytest.mark.parametrize("backend", ["onnx", "litert"])
def test_shipped_model_calls_irregular_rhythm_af_and_regular_not(backend: str) -> None:
    model = load_model(SHIPPED_MANIFEST, backend=backend, precision="int8")
    threshold = model.manifest.thresholds["af"]
    af_windows = np.array([rr_window_features(af_rr(30, seed)) for seed in range(5)])
    sinus_windows = np.array([rr_window_features(sinus_rr(30, seed)) for seed in range(5)])
    assert (model.predict(af_windows)[:, 0] >= threshold).all()
    assert (model.predict(sinus_windows)[:, 0] < threshold).all()
    detector = AfDetector(model, AfSettings(threshold=threshold))
    assert [e.phase for e in stream(detector, af_rr(100, seed=9))] == ["started"]
    assert stream(AfDetector(model, AfSettings(threshold=threshold)), sinus_rr(100, 9)) == []


class EcgMorphology:
    """The morphology of a recorded ECG between two times, as a gateway with the ECG gives it."""

    def __init__(self, signal: FloatArray, r_peaks: NDArray[np.intp], fs: float) -> None:
        self.signal, self.r_peaks, self.fs = signal, r_peaks, fs
        self.asked: list[tuple[float, float]] = []

    def __call__(self, start_s: float, end_s: float) -> FloatArray:
        self.asked.append((start_s, end_s))
        return morphology_between(self.signal, self.fs, self.r_peaks, round(start_s * self.fs),
                                  round(end_s * self.fs))


def ecg_windows(seed: int, *, af: bool) -> tuple[FloatArray, EcgMorphology]:
    rr = af_rr(100, seed) if af else sinus_rr(100, seed)
    signal, peaks = synthetic_ecg(rr, ECG_FS, p_waves=not af, seed=seed, noise_mv=0.01,
                                  f_waves_mv=0.05 if af else 0.0)
    return rr, EcgMorphology(signal, peaks, ECG_FS)


@pytest.mark.parametrize("backend", ["onnx", "litert"])
def test_shipped_ecg_model_calls_fibrillation_af_and_sinus_rhythm_not(backend: str) -> None:
    model = load_model(SHIPPED_ECG_MANIFEST, backend=backend, precision="int8")
    settings = AfSettings(threshold=model.manifest.thresholds["af"])
    for seed in range(3):
        rr, morphology = ecg_windows(seed, af=True)
        # The synthetic ECG starts 1 s in, with a beat at 1 s.
        events = stream(AfDetector(model, settings, morphology), rr, start_s=1.0)
        assert [e.phase for e in events] == ["started"]
        # One window of 30 beats, then one every 10.
        assert len(morphology.asked) == 1 + (100 - 30) // 10
        rr, morphology = ecg_windows(seed, af=False)
        assert stream(AfDetector(model, settings, morphology), rr, start_s=1.0) == []
