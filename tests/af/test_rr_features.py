import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.signals.rr_features import (
    FEATURE_NAMES,
    MAX_BEATS,
    MIN_BEATS,
    ectopic_runs,
    histogram_entropy,
    local_quantiles,
    merge_runs,
    poincare_cell_share,
    rr_window_features,
)
from tests.af import af_rr, sinus_rr, with_ectopic_beats

FEATURE = {name: index for index, name in enumerate(FEATURE_NAMES)}
IRREGULARITY = ("log_nrmssd_filtered", "log_median_abs_sd_norm", "pnn_8pct", "sample_entropy",
                "coefficient_of_sample_entropy", "log_cv_filtered", "log_iqr_norm",
                "poincare_cell_share", "histogram_entropy")


@pytest.mark.parametrize("beats", [MIN_BEATS, 30, MAX_BEATS])
def test_one_finite_value_per_feature(beats: int) -> None:
    features = rr_window_features(af_rr(beats, seed=beats))
    assert features.shape == (len(FEATURE_NAMES),)
    assert np.isfinite(features).all()


@pytest.mark.parametrize("beats", [MIN_BEATS - 1, MAX_BEATS + 1])
def test_window_length_outside_the_range_is_refused(beats: int) -> None:
    with pytest.raises(ValueError, match="RR intervals"):
        rr_window_features(sinus_rr(beats, seed=1))


@pytest.mark.parametrize("seed", range(5))
def test_af_is_more_irregular_than_sinus_on_every_irregularity_feature(seed: int) -> None:
    sinus = rr_window_features(sinus_rr(30, seed))
    af = rr_window_features(af_rr(30, seed))
    for name in IRREGULARITY:
        assert af[FEATURE[name]] > sinus[FEATURE[name]], name
    assert af[FEATURE["log_min_max_ratio"]] < sinus[FEATURE["log_min_max_ratio"]]


def test_poincare_cells_count_distinct_pairs_of_successive_differences() -> None:
    # Differences 0, 0, 0.1, -0.1, 0, 0: pairs (0, 0) twice, (0, 0.1), (0.1, -0.1), (-0.1, 0).
    rr = np.array([0.8, 0.8, 0.8, 0.9, 0.8, 0.8, 0.8])
    assert poincare_cell_share(np.diff(rr)) == pytest.approx(4 / 5)
    assert poincare_cell_share(np.zeros(10)) == pytest.approx(1 / 9)


def test_histogram_entropy_runs_from_one_bin_to_all_sixteen() -> None:
    assert histogram_entropy(np.full(20, 0.8), 0.8) == 0.0
    spread = 0.5 + (np.arange(32) + 0.5) / 32
    assert histogram_entropy(spread, 1.0) == pytest.approx(1.0)
    # Beyond 0.5 to 1.5 times the median, intervals count in the end bins.
    assert histogram_entropy(np.array([0.2, 0.2, 3.0, 3.0]), 1.0) == pytest.approx(0.25)


def test_ectopic_beats_are_found_where_they_were_put() -> None:
    sinus = sinus_rr(40, seed=3)
    ectopic = with_ectopic_beats(sinus, every=8)
    assert ectopic_runs(ectopic) == [(start, 2) for start in range(4, 39, 8)]
    assert ectopic_runs(sinus) == []


def test_a_couplet_and_its_pause_are_one_run() -> None:
    rr = sinus_rr(30, seed=8)
    rr[10:13] = [0.5, 0.45, 1.6]
    assert ectopic_runs(rr) == [(10, 3)]
    np.testing.assert_allclose(merge_runs(rr, [(10, 3)])[10:13], rr[10:13].mean())


def test_bigeminy_is_merged_into_a_regular_series() -> None:
    bigeminy = np.tile([0.56, 0.76], 15)
    merged = merge_runs(bigeminy, ectopic_runs(bigeminy))
    np.testing.assert_allclose(merged, 0.66)


def test_ectopic_beats_leave_the_features_of_sinus_rhythm_nearly_unchanged() -> None:
    sinus = sinus_rr(40, seed=4)
    ectopic = with_ectopic_beats(sinus, every=8)
    raw_nrmssd = np.sqrt(np.mean(np.diff(ectopic) ** 2)) / ectopic.mean()
    clean, with_pvcs = rr_window_features(sinus), rr_window_features(ectopic)
    assert np.log10(raw_nrmssd) > clean[FEATURE["log_nrmssd_filtered"]] + np.log10(3)
    assert (with_pvcs[FEATURE["log_nrmssd_filtered"]]
            < clean[FEATURE["log_nrmssd_filtered"]] + np.log10(1.5))
    assert with_pvcs[FEATURE["pnn_8pct"]] <= clean[FEATURE["pnn_8pct"]] + 0.1


@given(st.lists(st.floats(0.25, 3.0), min_size=MIN_BEATS, max_size=MAX_BEATS))
def test_merge_keeps_the_total_duration_and_runs_apart(values: list[float]) -> None:
    rr = np.array(values)
    runs = ectopic_runs(rr)
    assert merge_runs(rr, runs).sum() == pytest.approx(rr.sum())
    ends = [start + length for start, length in runs]
    assert all(end <= next_start for end, (next_start, _) in zip(ends, runs[1:], strict=False))


def test_alternation_the_merge_leaves_shows_in_the_lag_ratio() -> None:
    # Alternating by 10 %: too little to be premature, unlike AF's independent intervals.
    alternating = np.tile([0.76, 0.84], 15)
    assert rr_window_features(alternating)[FEATURE["lag2_lag1_ratio"]] < 0.1
    assert rr_window_features(af_rr(30, seed=6))[FEATURE["lag2_lag1_ratio"]] > 0.6


def test_median_and_spread_match_numpy() -> None:
    rr = sinus_rr(31, seed=7)
    features = rr_window_features(rr)
    q25, q75 = np.percentile(rr, [25, 75])
    assert features[FEATURE["median_rr_s"]] == pytest.approx(np.median(rr))
    assert features[FEATURE["log_iqr_norm"]] == pytest.approx(
        np.log10((q75 - q25) / np.median(rr)))


@given(st.lists(st.floats(0.25, 3.0), min_size=MIN_BEATS, max_size=MAX_BEATS))
def test_features_stay_in_bounded_ranges(values: list[float]) -> None:
    features = rr_window_features(np.array(values))
    assert np.isfinite(features).all()
    shares = ("pnn_8pct", "turning_point_ratio", "sd1_share", "poincare_cell_share",
              "histogram_entropy")
    assert all(0 <= features[FEATURE[name]] <= 1 for name in shares)
    assert 0 <= features[FEATURE["lag2_lag1_ratio"]] <= 2 + 1e-9
    logs = [features[FEATURE[name]] for name in FEATURE_NAMES if name.startswith("log_")]
    assert all(-2 <= value <= 1 for value in logs)


@given(st.lists(st.floats(0.3, 2.0), min_size=MIN_BEATS, max_size=MAX_BEATS))
def test_local_quantiles_are_those_of_the_eight_intervals_around(values: list[float]) -> None:
    rr = np.array(values)
    windows = [rr[start:start + 8] for start in
               (min(max(i - 4, 0), len(rr) - 8) for i in range(len(rr)))]
    median, upper = local_quantiles(rr)
    np.testing.assert_allclose(median, [np.median(w) for w in windows])
    np.testing.assert_allclose(upper, [np.quantile(w, 0.75) for w in windows])
