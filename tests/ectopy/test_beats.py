from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from edge.records.wfdb import read_annotations, read_record
from edge.signals.beats import (
    FEATURE_NAMES,
    LOOKAHEAD_MS,
    beat_features,
    beat_waveforms,
    normal_template,
    rr_context,
    template_indices,
    unit_qrs,
)
from tests.ectopy import rhythm_with_pvcs, synthetic_ecg
from tools.evaluation.rpeaks import resample

EXCERPTS = Path(__file__).parents[1] / "data" / "ecg"
COLUMN = {name: index for index, name in enumerate(FEATURE_NAMES)}
PVC_AT = {20, 31, 45}


def _synthetic_features(fs: float) -> np.ndarray:
    times, shapes = rhythm_with_pvcs(60, PVC_AT)
    signal = synthetic_ecg(fs, times, shapes, duration_s=50)
    return beat_features(signal, fs, np.round(times * fs).astype(np.int64))


def test_one_row_of_named_features_per_beat() -> None:
    features = _synthetic_features(360)
    assert features.shape == (60, len(FEATURE_NAMES))
    assert np.isfinite(features).all()


def test_no_beats_give_no_rows() -> None:
    assert beat_features(np.zeros(1000), 250, np.array([], dtype=np.int64)).shape == (
        0,
        len(FEATURE_NAMES),
    )


def test_a_pvc_is_early_followed_by_a_pause_wide_flipped_and_unlike_the_template() -> None:
    features = _synthetic_features(360)
    pvc = features[sorted(PVC_AT)]
    normal = features[[i for i in range(16, 60) if i not in PVC_AT and i - 1 not in PVC_AT]]
    assert (pvc[:, COLUMN["log_rr_prev_ratio"]] < np.log(0.7)).all()
    assert (pvc[:, COLUMN["log_rr_next_ratio"]] > np.log(1.3)).all()
    assert (pvc[:, COLUMN["log_qrs_width_ratio"]] > np.log(1.5)).all()
    assert (pvc[:, COLUMN["polarity_agreement"]] == -1).all()
    assert (pvc[:, COLUMN["qrs_correlation"]] < 0.5).all()
    assert (normal[:, COLUMN["qrs_correlation"]] > 0.97).all()
    # A PVC has no P wave of its own; a normal beat has the template's.
    assert (pvc[:, COLUMN["p_wave_correlation"]] < 0.5).all()
    assert (normal[:, COLUMN["p_wave_correlation"]] > 0.97).all()
    assert np.allclose(normal[:, COLUMN["log_rr_prev_ratio"]], 0, atol=0.01)
    assert (normal[:, COLUMN["polarity_agreement"]] == 1).all()


def test_the_family_of_a_pvc_is_rare_and_early_and_that_of_a_normal_beat_common() -> None:
    features = _synthetic_features(360)
    last_pvc, normal = max(PVC_AT), 55
    assert features[last_pvc, COLUMN["family_share"]] < 0.1
    assert features[last_pvc, COLUMN["family_log_rr_prev_ratio"]] < np.log(0.7)
    assert features[normal, COLUMN["family_share"]] > 0.9


@pytest.mark.parametrize("fs", [130.0, 250.0])
def test_features_do_not_depend_on_the_sampling_rate(fs: float) -> None:
    reference = _synthetic_features(360)
    features = _synthetic_features(fs)
    # Peaks fall on the nearest sample: up to half a sample (3.8 ms at 130 Hz) of RR jitter.
    rr_columns = [COLUMN[name] for name in FEATURE_NAMES if "rr_" in name]
    assert np.abs(features[:, rr_columns] - reference[:, rr_columns]).max() < 0.02
    for name in ("qrs_correlation", "beat_correlation", "polarity_agreement"):
        assert np.abs(features[:, COLUMN[name]] - reference[:, COLUMN[name]]).max() < 0.05
    width = COLUMN["qrs_width_ms"]
    assert np.abs(features[:, width] - reference[:, width]).max() <= 8


def test_features_of_a_beat_need_nothing_beyond_the_next_beat_and_the_look_ahead() -> None:
    times, shapes = rhythm_with_pvcs(40, {12, 25})
    fs = 250.0
    signal = synthetic_ecg(fs, times, shapes, duration_s=34)
    signal += np.random.default_rng(7).normal(0, 0.02, signal.size)
    peaks = np.round(times * fs).astype(np.int64)
    full = beat_features(signal, fs, peaks)
    cut = peaks[30] + round(LOOKAHEAD_MS * fs / 1000) + 1
    truncated = beat_features(signal[:cut], fs, peaks[:31])
    assert np.allclose(truncated[:30], full[:30])


def test_the_template_leaves_out_premature_beats() -> None:
    times, _ = rhythm_with_pvcs(40, {30, 33})
    before, _, local = rr_context(np.round(times * 360).astype(np.int64), 360)
    members = template_indices(before, local, 36)
    assert members.size == 16
    assert 30 not in members and 33 not in members
    assert members.max() == 35


def test_pvcs_that_come_on_time_are_left_out_of_the_template() -> None:
    fs = 360.0
    on_time = {1, 4, 6, 9, 11, 14}
    times, shapes = rhythm_with_pvcs(16, on_time, coupling=1.0)
    # Beats a little larger one after the other, so that every median is a different waveform.
    scaled = [tuple((at, a * (1 + 0.02 * i), w) for at, a, w in s) for i, s in enumerate(shapes)]
    signal = synthetic_ecg(fs, times, scaled, duration_s=14)
    waveforms = beat_waveforms(signal, fs, np.round(times * fs).astype(np.int64))
    members = np.arange(16, dtype=np.int64)
    normal = [i for i in members if i not in on_time]
    template = normal_template(waveforms, unit_qrs(waveforms), members)
    assert np.allclose(template, np.median(waveforms[normal], axis=0))
    assert not np.allclose(template, np.median(waveforms, axis=0), atol=0.01)


def _mitdb_excerpt(name: str) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    record = read_record(EXCERPTS / f"{name}.hea")
    annotations = read_annotations(EXCERPTS / f"{name}.atr")
    is_pvc = np.array([symbol == "V" for symbol in annotations.symbols])
    return record.signal_mv, record.fs, annotations.samples, is_pvc


def test_pvcs_of_a_real_record_stand_out_from_its_normal_beats() -> None:
    signal, fs, peaks, is_pvc = _mitdb_excerpt("200_1080s")
    features = beat_features(signal, fs, peaks)
    assert is_pvc.sum() >= 10
    for name in ("qrs_correlation", "beat_correlation"):
        pvc, normal = features[is_pvc, COLUMN[name]], features[~is_pvc, COLUMN[name]]
        assert np.median(pvc) < np.median(normal) - 0.3
    assert np.median(features[is_pvc, COLUMN["log_rr_prev_ratio"]]) < np.log(0.9)


def test_a_real_record_resampled_to_130_hz_gives_nearly_the_same_features() -> None:
    signal, fs, peaks, _ = _mitdb_excerpt("106_780s")
    ratio = Fraction(130, round(fs))
    resampled = resample(signal, ratio)
    moved = np.round(peaks * float(ratio)).astype(np.int64)
    keep = moved < resampled.size
    original = beat_features(signal, fs, peaks[keep])
    features = beat_features(resampled, 130.0, moved[keep])
    for name in ("qrs_correlation", "polarity_agreement", "log_rr_prev_ratio"):
        difference = np.abs(features[:, COLUMN[name]] - original[:, COLUMN[name]])
        assert np.median(difference) < 0.02
        assert np.mean(difference < 0.1) > 0.95
