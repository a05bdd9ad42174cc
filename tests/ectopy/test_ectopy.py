from pathlib import Path

import numpy as np
import pytest

from edge.detect.ectopy import (
    classify_beats,
    label_beats,
    rule_pvc,
)
from edge.detect.rhythm import Beat, EcgRhythm, RhythmModels
from edge.inference.model import load_model
from edge.records.wfdb import read_annotations, read_record
from edge.signals.beats import FEATURE_NAMES, beat_features
from edge.signals.rpeaks import detect_r_peaks
from tests.ectopy import rhythm_with_pvcs, synthetic_ecg
from tools.evaluation.pvc import MATCH_TOLERANCE_S
from tools.evaluation.rpeaks import pair_beats

REPO = Path(__file__).parents[2]
EXCERPTS = REPO / "tests" / "data" / "ecg"
# The fold model that never saw record 200: an honest check on an excerpt of it.
HELD_OUT_200 = REPO / "models" / "pvc_beat" / "loo" / "200" / "manifest.json"
SHIPPED = REPO / "models" / "pvc_beat" / "manifest.json"
BACKENDS = ["onnx", "litert"]


def test_the_rule_finds_exactly_the_pvcs_of_a_clean_synthetic_rhythm() -> None:
    pvcs = {20, 27, 41}
    times, shapes = rhythm_with_pvcs(50, pvcs)
    signal = synthetic_ecg(250, times, shapes, duration_s=42)
    features = beat_features(signal, 250, np.round(times * 250).astype(np.int64))
    assert set(np.flatnonzero(classify_beats(features, None))) == pvcs


def test_the_rule_calls_a_wide_beat_that_comes_on_time_only_without_a_p_wave() -> None:
    column = {name: index for index, name in enumerate(FEATURE_NAMES)}
    rows = np.zeros((3, len(FEATURE_NAMES)))
    rows[:, column["qrs_correlation"]] = 0.5
    rows[:, column["log_residual_energy_ratio"]] = 0.5
    rows[:, column["log_qrs_width_ratio"]] = np.log(1.6)
    rows[:, column["p_wave_correlation"]] = [0.95, 0.1, 0.95]
    rows[2, column["log_rr_prev_ratio"]] = np.log(0.7)
    assert rule_pvc(rows).tolist() == [False, True, True]


def test_beats_in_unusable_signal_get_no_label() -> None:
    pvcs = {20, 27, 41, 52}
    times, shapes = rhythm_with_pvcs(60, pvcs)
    signal = synthetic_ecg(250, times, shapes, duration_s=50)
    noisy_from = 40 * 250
    signal[noisy_from:] += np.random.default_rng(5).normal(0, 0.3, signal.size - noisy_from)
    labels = label_beats(signal, 250, np.round(times * 250).astype(np.int64))
    assert labels.usable[:40].all() and not labels.usable[50:].any()
    assert set(np.flatnonzero(labels.is_pvc)) == {20, 27, 41}


def test_a_model_callable_decides_at_its_threshold() -> None:
    features = np.zeros((4, len(FEATURE_NAMES)))
    probabilities = np.array([[0.1], [0.5], [0.7], [0.49]], dtype=np.float32)

    def model(rows: np.ndarray) -> np.ndarray:
        assert rows.dtype == np.float32 and rows.shape == features.shape
        return probabilities

    assert classify_beats(features, model).tolist() == [False, True, True, False]
    assert classify_beats(features, model, threshold=0.6).tolist() == [False, False, True, False]


def test_no_beats_need_no_model() -> None:
    def model(rows: np.ndarray) -> np.ndarray:
        raise AssertionError("called without beats")

    assert classify_beats(np.zeros((0, len(FEATURE_NAMES))), model).shape == (0,)
    assert rule_pvc(np.zeros((0, len(FEATURE_NAMES)))).shape == (0,)


def _excerpt_beats(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Features of the beats our detector finds in an excerpt, and which of them are PVCs."""
    record = read_record(EXCERPTS / f"{name}.hea")
    annotations = read_annotations(EXCERPTS / f"{name}.atr")
    peaks = detect_r_peaks(record.signal_mv, record.fs)
    match = pair_beats(peaks, annotations.samples, round(MATCH_TOLERANCE_S * record.fs))
    symbols = np.array(annotations.symbols)
    is_pvc = (match >= 0) & (symbols[np.maximum(match, 0)] == "V")
    return beat_features(record.signal_mv, record.fs, peaks), is_pvc


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_held_out_model_finds_the_pvcs_of_a_record_it_never_saw(backend: str) -> None:
    features, is_pvc = _excerpt_beats("200_1080s")
    model = load_model(HELD_OUT_200, backend, "int8")
    called = classify_beats(features, model.predict, model.manifest.thresholds["pvc"])
    true_positives = np.sum(called & is_pvc)
    assert is_pvc.sum() >= 10
    assert true_positives / is_pvc.sum() >= 0.75
    assert true_positives / called.sum() >= 0.9


@pytest.mark.parametrize("backend", BACKENDS)
def test_int8_and_float_variants_call_the_same_beats(backend: str) -> None:
    features, _ = _excerpt_beats("106_780s")
    calls = {
        precision: classify_beats(features, load_model(SHIPPED, backend, precision).predict)
        for precision in ("float", "int8")
    }
    assert np.mean(calls["float"] == calls["int8"]) >= 0.99


def test_a_record_without_pvcs_gets_almost_no_pvc_calls() -> None:
    features, is_pvc = _excerpt_beats("100_60s")
    model = load_model(SHIPPED, None, "int8")
    called = classify_beats(features, model.predict, model.manifest.thresholds["pvc"])
    assert np.sum(called & ~is_pvc) <= 1


def test_matching_pairs_closest_first_one_to_one_within_the_tolerance() -> None:
    detected = np.array([100, 104, 300, 520], dtype=np.int64)
    annotated = np.array([102, 310, 700], dtype=np.int64)
    # 100 and 104 both want 102: the closer one (100, 2 samples, before 104 on a tie) wins.
    assert pair_beats(detected, annotated, tolerance=20).tolist() == [0, -1, 1, -1]
    assert pair_beats(detected, annotated, tolerance=5).tolist() == [0, -1, -1, -1]
    assert pair_beats(detected, np.array([], dtype=np.int64), tolerance=5).tolist() == [-1] * 4


def _stream(
    rhythm: EcgRhythm, signal: np.ndarray, chunk: int
) -> tuple[list[Beat], float]:
    """The beats of a signal pushed in chunks through the streaming analysis, and the most
    signal it ever held (s)."""
    beats: list[Beat] = []
    most_buffered_s = 0.0
    for start in range(0, signal.size, chunk):
        beats += rhythm.push(signal[start : start + chunk]).beats
        most_buffered_s = max(most_buffered_s, rhythm.buffered_s)
    return beats + rhythm.flush().beats, most_buffered_s


@pytest.mark.parametrize("chunk", [130, 1000])
def test_streamed_labels_are_those_of_the_whole_recording(chunk: int) -> None:
    record = read_record(EXCERPTS / "200_1080s.hea")
    model = load_model(HELD_OUT_200, "onnx", "int8")
    threshold = model.manifest.thresholds["pvc"]
    models = RhythmModels(pvc=model.predict, pvc_threshold=threshold)
    streamed, _ = _stream(EcgRhythm(record.fs, 0.0, models), record.signal_mv, chunk)
    peaks = detect_r_peaks(record.signal_mv, record.fs)
    whole = label_beats(record.signal_mv, record.fs, peaks, model.predict, threshold)
    assert [beat.sample for beat in streamed] == peaks.tolist()
    assert [beat.is_pvc is True for beat in streamed] == whole.is_pvc.tolist()
    assert [beat.is_pvc is not None for beat in streamed] == whole.usable.tolist()
    assert sum(beat.is_pvc is True for beat in streamed) >= 10


def test_a_long_stream_keeps_only_its_history() -> None:
    fs = 130.0
    times, shapes = rhythm_with_pvcs(400, {150, 300})
    signal = synthetic_ecg(fs, times, shapes, duration_s=321)
    beats, most_buffered_s = _stream(EcgRhythm(fs, 0.0, RhythmModels()), signal, chunk=650)
    assert most_buffered_s <= 120
    pvc_times = [beat.at_s for beat in beats if beat.is_pvc]
    assert np.allclose(pvc_times, times[[150, 300]], atol=0.02)
    assert len(beats) == 400
